package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	httpDuration *prometheus.HistogramVec
	hookDuration *prometheus.HistogramVec
	predictions  *prometheus.CounterVec
	abstentions  *prometheus.CounterVec
	authFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &metrics{
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "spinecast_http_request_duration_seconds", Help: "HTTP request latency by method, route template and status.",
			Buckets: buckets}, []string{"method", "route", "status"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "spinecast_cds_hook_duration_seconds", Help: "CDS Hooks call latency by service and hook.",
			Buckets: buckets}, []string{"service", "hook"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinecast_predictions_total", Help: "Predictions made, by model and outcome."},
			[]string{"model", "outcome"}),
		abstentions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinecast_abstentions_total", Help: "Requests answered without a prediction, by route and reason."},
			[]string{"route", "reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spinecast_auth_failures_total", Help: "Rejected credentials, by surface (cds, rest) and reason."},
			[]string{"surface", "reason"}),
	}
	reg.MustRegister(m.httpDuration, m.hookDuration, m.predictions, m.abstentions, m.authFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
