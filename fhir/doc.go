// Package fhir reads patient records from FHIR R4: Bundles (collection,
// searchset, transaction, batch/transaction responses, documents), single
// resources, Bulk Data NDJSON exports and FHIR servers over REST.
//
// It is for turning untrusted FHIR JSON into a validated [Record]: one
// Patient and the Observations, QuestionnaireResponses, Conditions,
// Procedures, MedicationStatements, MedicationRequests, ServiceRequests and
// ImagingStudies that belong to that patient, each with its reference, its
// place in the input and its clinically relevant [Date]. The R4 types come
// from github.com/samply/golang-fhir-models, which validates almost nothing
// (a missing status becomes the first code, unknown elements vanish, any
// resource decodes into any type). This package adds the checks Spinecast
// relies on: resourceType routing, required elements (status, intent, code,
// medication[x], linkId), R4 date/dateTime formats, UCUM unit syntax,
// references that resolve to the record's patient (including urn:uuid
// fullUrls), coded values of status elements the generated types hold as
// strings, and size limits. Problems become OperationOutcome-style [Issue]s
// with a location such as Bundle.entry[3].resource.valueQuantity.code: a bad
// entry is left out with an error issue and the rest is used; input that
// cannot safely give one patient's record is rejected with a *[RejectError].
//
// It also holds the clinical knowledge about FHIR codes as versioned data:
// the PROM [Catalogue] (instruments, codes marked verified or not, units,
// ranges, direction, ODI/NDI scoring from QuestionnaireResponse items) and
// the clinical [CodeLists] (comorbidities, diagnosis groups, procedures,
// opioids, smoking status), both embedded from data/ and replaceable.
//
// Main types: [Record] (built by [Parse], [ReadBundle], [ParsePrefetch]
// for CDS Hooks prefetch, [Builder], [ReadBulk] and [Client]), [Issue]/[Issues], [Date], [Catalogue], [Score],
// [CodeLists].
//
// It is not for computing features (package features does that, and this
// package must not import it), for writing FHIR, or for terminology
// services: code lists match exact codes and ICD-10 prefixes only. It never
// logs; issue texts carry no patient identifiers or observation values.
package fhir
