package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mtcnn-go/mtcnn/cascade"
)

// metrics are one Server's Prometheus collectors, in a registry of its
// own so that several servers (tests) never share counters.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	stage     *prometheus.HistogramVec
	detection prometheus.Histogram
	faces     prometheus.Counter
	pixels    prometheus.Histogram
	abandoned prometheus.Counter
}

// stageNames label the cascade's stages in metrics and JSON.
var stageNames = [3]string{"pnet", "rnet", "onet"}

// newMetrics registers the server's collectors, the pool's gauges and the
// Go runtime and process collectors in a fresh registry.
func newMetrics(p *pool, b *budget) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mtcnn_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mtcnn_http_request_duration_seconds",
			Help:    "Time from request start to the end of the answer, by route.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mtcnn_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mtcnn_detect_stage_duration_seconds",
			Help:    "Time spent in each cascade stage of a detection.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"stage"}),
		detection: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mtcnn_detect_duration_seconds",
			Help:    "Wall time of whole detections, excluding decoding and queueing.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		faces: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mtcnn_faces_detected_total",
			Help: "Faces found by all detections.",
		}),
		pixels: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mtcnn_image_pixels",
			Help:    "Pixel count of decoded request images.",
			Buckets: prometheus.ExponentialBuckets(1<<14, 4, 9), // 16 Ki .. 1 Gi
		}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mtcnn_detect_abandoned_total",
			Help: "Requests answered at their deadline while their decoding or detection was still running.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, m.stage, m.detection, m.faces, m.pixels, m.abandoned,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mtcnn_memory_budget_bytes",
			Help: "Bytes of the memory budget requests may hold together (-max-memory minus the process reserve).",
		}, func() float64 { return float64(b.size) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mtcnn_memory_budget_used_bytes",
			Help: "Estimated bytes held by admitted requests.",
		}, func() float64 { return float64(b.used.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mtcnn_memory_budget_waiting",
			Help: "Requests waiting for their estimated memory to fit in the budget.",
		}, func() float64 { return float64(b.waiting.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mtcnn_memory_released_total",
			Help: "Times the freed heap was returned to the OS after the last large request in flight ended.",
		}, func() float64 { return float64(b.freed.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mtcnn_detect_running",
			Help: "Detections holding a slot.",
		}, func() float64 { return float64(p.running()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mtcnn_detect_queued",
			Help: "Admitted requests waiting for a detection slot (or decoding).",
		}, func() float64 { return float64(p.waiting()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observeRequest counts one answered request.
func (m *metrics) observeRequest(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(elapsed.Seconds())
}

// observeDetection records one successful detection.
func (m *metrics) observeDetection(st cascade.Stats, total time.Duration, faces int) {
	for i, d := range st.Stage {
		m.stage.WithLabelValues(stageNames[i]).Observe(d.Seconds())
	}
	m.detection.Observe(total.Seconds())
	m.faces.Add(float64(faces))
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
