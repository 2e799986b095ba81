package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spinecast/spinecast/store"
)

// AuditRecord and Feedback are the store's record types.
type (
	AuditRecord = store.AuditRecord
	Feedback    = store.Feedback
	ModelRef    = store.ModelRef
)

const (
	headerRequestID = "X-Request-Id"
	ctxRequestID    = "spinecast.request_id"
	ctxCaller       = "spinecast.caller"
)

// requestIDMiddleware takes a well-formed X-Request-Id from the caller or
// makes one, and echoes it on the response.
func (s *Server) requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !safeToken(id, 64) {
			id = newID()
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(headerRequestID, id)
		return next(c)
	}
}

func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

func caller(c echo.Context) string {
	id, _ := c.Get(ctxCaller).(string)
	return id
}

// safeToken reports whether s is 1..max characters of [A-Za-z0-9._-].
func safeToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// newID returns a random UUID (version 4).
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// recoverMiddleware turns a panic into a 500 with nothing leaked.
func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic in handler", "request_id", requestID(c),
					"route", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = internal(fmt.Errorf("panic: %v", r))
			}
		}()
		return next(c)
	}
}

// logMiddleware logs one line per request and observes its latency. It
// logs the route template, never the raw path (which may hold a patient
// id), and no header or body.
func (s *Server) logMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response now, so the status below is final
		}
		lat := time.Since(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.met.httpDuration.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Observe(lat.Seconds())
		level := s.log.Info
		if status >= 500 {
			level = s.log.Error
		}
		if route != "/healthz" && route != "/readyz" && route != "/metrics" || status >= 400 {
			level("request", "request_id", requestID(c), "method", c.Request().Method, "route", route,
				"status", status, "latency_ms", float64(lat.Microseconds())/1000, "bytes", c.Response().Size)
		}
		return nil
	}
}

// timeoutMiddleware gives each request a deadline.
func (s *Server) timeoutMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
