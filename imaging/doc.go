// Package imaging turns medical images into features: NIfTI-1 and DICOM
// readers, IBSI-1 preprocessing (resampling, re-segmentation,
// discretisation), IBSI-1 radiomics features, and deep embeddings from an
// ONNX encoder run by ONNX Runtime (GPU when present, CPU otherwise).
//
// It is not for prediction (package predictors) nor for FHIR (package fhir):
// it produces named feature values with their IBSI codes, which the feature
// pipeline fuses into a patient's vector.
//
// Main types: Volume (an intensity image on a regular grid with its
// geometry), Mask (a region of interest on the same grid), Discretised
// (grey levels of the ROI voxels, the input of the texture features),
// Feature and Settings (Radiomics), Encoder (a small 3D CNN defined in Go and
// written as ONNX), EncoderSpec (its registry entry: sha256, input
// specification, output size), Embedder (runs an encoder through ONNX
// Runtime; ErrUnavailable without the library) and SchemaExtractor (the
// feature schema's imaging block — its IBSI radiomics columns and 16
// embedding dimensions — from one image and mask, with the hashes that key
// a cache of it).
package imaging
