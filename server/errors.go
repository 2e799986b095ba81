package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"
)

// Code classifies an Error; each code maps to one HTTP status, one RFC 9457
// problem type and one FHIR OperationOutcome issue type (see codeTable).
type Code string

// The error codes.
const (
	CodeInvalid        Code = "invalid"         // malformed request
	CodeUnprocessable  Code = "unprocessable"   // well-formed but unusable input
	CodeNotFound       Code = "not-found"       // no such resource
	CodeUnauthorized   Code = "unauthorized"    // missing or bad credentials
	CodeForbidden      Code = "forbidden"       // authenticated, not allowed
	CodeNotAcceptable  Code = "not-acceptable"  // Accept cannot be honoured
	CodeUnsupported    Code = "unsupported"     // Content-Type not accepted
	CodeTooLarge       Code = "too-large"       // body over the limit
	CodeMethod         Code = "method"          // method not allowed
	CodePrecondition   Code = "precondition"    // CDS data neither prefetched nor fetchable
	CodeNotImplemented Code = "not-implemented" // feature not available in this build
	CodeUnavailable    Code = "unavailable"     // dependency down (readiness)
	CodeTimeout        Code = "timeout"         // deadline exceeded
	CodeInternal       Code = "internal"        // our fault; details never leave the server
)

type codeInfo struct {
	status  int
	title   string
	fhirIss string // OperationOutcome.issue.code
}

var codeTable = map[Code]codeInfo{
	CodeInvalid:        {http.StatusBadRequest, "Invalid request", "invalid"},
	CodeUnprocessable:  {http.StatusUnprocessableEntity, "Unprocessable input", "processing"},
	CodeNotFound:       {http.StatusNotFound, "Not found", "not-found"},
	CodeUnauthorized:   {http.StatusUnauthorized, "Unauthorized", "login"},
	CodeForbidden:      {http.StatusForbidden, "Forbidden", "forbidden"},
	CodeNotAcceptable:  {http.StatusNotAcceptable, "Not acceptable", "not-supported"},
	CodeUnsupported:    {http.StatusUnsupportedMediaType, "Unsupported media type", "not-supported"},
	CodeTooLarge:       {http.StatusRequestEntityTooLarge, "Request body too large", "too-costly"},
	CodeMethod:         {http.StatusMethodNotAllowed, "Method not allowed", "not-supported"},
	CodePrecondition:   {http.StatusPreconditionFailed, "Required data unavailable", "incomplete"},
	CodeNotImplemented: {http.StatusNotImplemented, "Not implemented", "not-supported"},
	CodeUnavailable:    {http.StatusServiceUnavailable, "Service unavailable", "transient"},
	CodeTimeout:        {http.StatusGatewayTimeout, "Timed out", "timeout"},
	CodeInternal:       {http.StatusInternalServerError, "Internal error", "exception"},
}

// Error is an error with a code and a message safe to show the client.
// Err, when set, is the cause: logged, never sent.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds an Error whose message is safe for the client.
func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected failure; the client sees a generic message.
func internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// asError turns any error a handler returns into an Error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return errorf(CodeNotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return errorf(CodeMethod, "method not allowed on this route")
		case http.StatusRequestEntityTooLarge:
			return errorf(CodeTooLarge, "request body exceeds the limit")
		case http.StatusUnsupportedMediaType:
			return errorf(CodeUnsupported, "unsupported media type")
		case http.StatusUnauthorized:
			return errorf(CodeUnauthorized, "authentication required")
		case http.StatusServiceUnavailable:
			return errorf(CodeUnavailable, "service unavailable")
		}
		if he.Code >= 400 && he.Code < 500 {
			return errorf(CodeInvalid, "%s", http.StatusText(he.Code))
		}
		return internal(err)
	}
	return internal(err)
}

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      Code   `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// ProblemTypeBase prefixes each problem type URI; the code follows.
const ProblemTypeBase = "urn:spinecast:problem:"

// OperationOutcome is the FHIR R4 resource for errors on FHIR and CDS Hooks
// routes (only the elements Spinecast sets).
type OperationOutcome struct {
	ResourceType string       `json:"resourceType"`
	Issue        []OutcomeIss `json:"issue"`
}

// OutcomeIss is one OperationOutcome.issue.
type OutcomeIss struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

func operationOutcome(e *Error) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []OutcomeIss{{
		Severity: "error", Code: codeTable[e.Code].fhirIss, Diagnostics: e.Message,
	}}}
}

// wantsFHIR reports whether errors on this request are answered as an
// OperationOutcome: CDS Hooks routes, and any request accepting FHIR JSON.
func wantsFHIR(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/cds-services") || strings.Contains(c.Request().Header.Get(echo.HeaderAccept), mimeFHIR)
}

// errorHandler is echo's HTTPErrorHandler: it maps every error once.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := asError(err)
	info := codeTable[e.Code]
	rid := requestID(c)
	if e.Code == CodeInternal {
		s.log.ErrorContext(c.Request().Context(), "internal error", "request_id", rid, "route", c.Path(), "error", e.Error())
	}
	var werr error
	if wantsFHIR(c) {
		werr = writeJSON(c, info.status, mimeFHIR, operationOutcome(e))
	} else {
		werr = writeJSON(c, info.status, mimeProblem, Problem{
			Type: ProblemTypeBase + string(e.Code), Title: info.title, Status: info.status,
			Detail: e.Message, Instance: c.Request().URL.Path, Code: e.Code, RequestID: rid,
		})
	}
	if werr != nil {
		s.log.WarnContext(c.Request().Context(), "write error response", "request_id", rid, "error", werr.Error())
	}
}

// jsonProblem describes a JSON decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s", field, jsonKind(te.Type.Kind()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated or empty JSON"
	}
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return "a value or null"
	}
	return "another type"
}
