// Package deploy holds the Kubernetes and Knative manifests of the server;
// its test checks their structure against each other and the server.
package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The image every manifest runs: ko's reference to the CLI's package,
// which "ko resolve" replaces with the built and pushed image.
const image = "ko://github.com/mtcnn-go/mtcnn/cmd/mtcnn"

// serverPort is where "mtcnn serve" listens by default.
const serverPort = 8080

// The parts of the manifests the test reads.
type (
	object struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec spec `json:"spec"`
	}
	spec struct {
		Replicas *int `json:"replicas"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec podSpec `json:"spec"`
		} `json:"template"`
		// Service.
		ServiceSelector map[string]string `json:"-"`
		Ports           []servicePort     `json:"ports"`
		// HorizontalPodAutoscaler.
		ScaleTargetRef struct {
			APIVersion, Kind, Name string
		} `json:"scaleTargetRef"`
		MinReplicas *int     `json:"minReplicas"`
		MaxReplicas int      `json:"maxReplicas"`
		Metrics     []metric `json:"metrics"`
		// PodDisruptionBudget.
		MinAvailable any `json:"minAvailable"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds *int        `json:"terminationGracePeriodSeconds"`
		Containers                    []container `json:"containers"`
	}
	container struct {
		Name           string          `json:"name"`
		Image          string          `json:"image"`
		Args           []string        `json:"args"`
		Ports          []containerPort `json:"ports"`
		LivenessProbe  *probe          `json:"livenessProbe"`
		ReadinessProbe *probe          `json:"readinessProbe"`
		Resources      struct {
			Requests map[string]string `json:"requests"`
			Limits   map[string]string `json:"limits"`
		} `json:"resources"`
	}
	containerPort struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	}
	metric struct {
		Type     string `json:"type"`
		Resource struct {
			Name   string `json:"name"`
			Target struct {
				Type               string `json:"type"`
				AverageUtilization int    `json:"averageUtilization"`
			} `json:"target"`
		} `json:"resource"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `json:"path"`
			Port any    `json:"port"`
		} `json:"httpGet"`
	}
	servicePort struct {
		Name       string `json:"name"`
		Port       int    `json:"port"`
		TargetPort any    `json:"targetPort"`
	}
)

// load parses every document of every YAML file matching glob.
func load(t *testing.T, glob string) []object {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var o object
			if err := yaml.UnmarshalStrict([]byte(doc), new(map[string]any)); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var raw struct {
				Spec struct {
					Selector any `json:"selector"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
				t.Fatal(err)
			}
			if m, ok := raw.Spec.Selector.(map[string]any); ok && o.Kind == "Service" {
				o.Spec.ServiceSelector = map[string]string{}
				for k, v := range m {
					o.Spec.ServiceSelector[k], _ = v.(string)
				}
			}
			objs = append(objs, o)
		}
	}
	return objs
}

// byKind returns the one object of kind, failing if there is not one.
func byKind(t *testing.T, objs []object, apiVersion, kind string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == kind && o.APIVersion == apiVersion {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s, found %d", apiVersion, kind, len(found))
	}
	return found[0]
}

// subset reports whether every label of sel is in labels, with sel non-empty.
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// quantity parses a CPU ("500m", "2") or memory ("256Mi", "1Gi") quantity
// into milli-units or bytes.
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	units := []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"m", 1}, {"", 1000}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				t.Fatalf("bad quantity %q", s)
			}
			return v * u.mult
		}
	}
	t.Fatalf("bad quantity %q", s)
	return 0
}

// checkContainer checks the server container of a pod template.
func checkContainer(t *testing.T, what string, c container, portName bool) {
	t.Helper()
	if c.Image != image {
		t.Errorf("%s: image %q, want %q", what, c.Image, image)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("%s: args %q, want [serve]", what, c.Args)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != serverPort {
		t.Errorf("%s: ports %+v, want one, %d", what, c.Ports, serverPort)
	}
	for _, pr := range []struct {
		name string
		p    *probe
		path string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet probe", what, pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s: %s probe on %q, want %q", what, pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		switch port := pr.p.HTTPGet.Port.(type) {
		case nil:
			if portName {
				t.Errorf("%s: %s probe has no port", what, pr.name)
			}
		case string:
			if ports[port] != serverPort {
				t.Errorf("%s: %s probe on port %q, which is not the container's %d", what, pr.name, port, serverPort)
			}
		case float64:
			if int(port) != serverPort {
				t.Errorf("%s: %s probe on port %v, want %d", what, pr.name, port, serverPort)
			}
		default:
			t.Errorf("%s: %s probe port %v", what, pr.name, port)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req == "" || lim == "" {
			t.Errorf("%s: %s request %q and limit %q, want both", what, r, req, lim)
			continue
		}
		if quantity(t, req) > quantity(t, lim) {
			t.Errorf("%s: %s request %s over its limit %s", what, r, req, lim)
		}
	}
}

// TestKubernetes checks deploy/*.yaml: a Deployment of the server image
// with probes on the server's port, a Service and a PodDisruptionBudget
// selecting its pods, and an HPA on CPU targeting it.
func TestKubernetes(t *testing.T) {
	objs := load(t, "*.yaml")
	known := map[string]bool{
		"apps/v1 Deployment": true, "v1 Service": true,
		"autoscaling/v2 HorizontalPodAutoscaler": true, "policy/v1 PodDisruptionBudget": true,
	}
	for _, o := range objs {
		if !known[o.APIVersion+" "+o.Kind] {
			t.Errorf("unexpected %s %s %q", o.APIVersion, o.Kind, o.Metadata.Name)
		}
		if o.Metadata.Name == "" {
			t.Errorf("%s without a name", o.Kind)
		}
	}
	dep := byKind(t, objs, "apps/v1", "Deployment")
	pod := dep.Spec.Template
	if !subset(dep.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", dep.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("Deployment has %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	checkContainer(t, "Deployment", c, true)
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("terminationGracePeriodSeconds %v, want over the server's 30s shutdown timeout", g)
	}

	svc := byKind(t, objs, "v1", "Service")
	if !subset(svc.Spec.ServiceSelector, pod.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.ServiceSelector, pod.Metadata.Labels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service ports %+v, want one", svc.Spec.Ports)
	}
	switch tp := svc.Spec.Ports[0].TargetPort.(type) {
	case string:
		if !slices.ContainsFunc(c.Ports, func(p containerPort) bool {
			return p.Name == tp && p.ContainerPort == serverPort
		}) {
			t.Errorf("Service targetPort %q is not the container's port %d", tp, serverPort)
		}
	case float64:
		if int(tp) != serverPort {
			t.Errorf("Service targetPort %v, want %d", tp, serverPort)
		}
	default:
		t.Errorf("Service targetPort %v", tp)
	}

	hpa := byKind(t, objs, "autoscaling/v2", "HorizontalPodAutoscaler")
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != dep.APIVersion || ref.Kind != dep.Kind || ref.Name != dep.Metadata.Name {
		t.Errorf("HPA targets %s %s %q, want %s %s %q", ref.APIVersion, ref.Kind, ref.Name, dep.APIVersion, dep.Kind, dep.Metadata.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || *hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
		t.Errorf("HPA replicas %v..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	cpu := slices.IndexFunc(hpa.Spec.Metrics, func(m metric) bool {
		return m.Type == "Resource" && m.Resource.Name == "cpu" && m.Resource.Target.Type == "Utilization" &&
			m.Resource.Target.AverageUtilization > 0 && m.Resource.Target.AverageUtilization <= 100
	})
	if cpu < 0 {
		t.Errorf("HPA has no CPU utilization target: %+v", hpa.Spec.Metrics)
	}

	pdb := byKind(t, objs, "policy/v1", "PodDisruptionBudget")
	if !subset(pdb.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
	}
	if n, ok := pdb.Spec.MinAvailable.(float64); !ok || int(n) >= *hpa.Spec.MinReplicas {
		t.Errorf("PodDisruptionBudget minAvailable %v, want a number below the HPA's minReplicas %d", pdb.Spec.MinAvailable, *hpa.Spec.MinReplicas)
	}
}

// TestKnative checks deploy/knative/service.yaml: a Knative Service of the
// server image with probes on the server's paths and port.
func TestKnative(t *testing.T) {
	objs := load(t, filepath.Join("knative", "*.yaml"))
	ks := byKind(t, objs, "serving.knative.dev/v1", "Service")
	if len(objs) != 1 {
		t.Errorf("knative/ holds %d objects, want the Service only", len(objs))
	}
	if len(ks.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Knative Service has %d containers, want 1", len(ks.Spec.Template.Spec.Containers))
	}
	// Knative probes take no port (it is the serving port).
	checkContainer(t, "Knative Service", ks.Spec.Template.Spec.Containers[0], false)
	if ks.Spec.Template.Metadata.Annotations["autoscaling.knative.dev/metric"] == "" {
		t.Error("Knative Service sets no autoscaling metric")
	}
}

// TestImageAndPortMatchTheCode checks that the image reference names a
// main package of this module and that the server's default address is
// the port the manifests use.
func TestImageAndPortMatchTheCode(t *testing.T) {
	rel, ok := strings.CutPrefix(image, "ko://github.com/mtcnn-go/mtcnn/")
	if !ok {
		t.Fatalf("image %q is not a ko:// reference into this module", image)
	}
	src, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(rel), "main.go"))
	if err != nil {
		t.Fatalf("image %q: %v", image, err)
	}
	if !bytes.Contains(src, []byte("package main")) {
		t.Errorf("%s is not a main package", rel)
	}
	serve, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(rel), "serve.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `":` + strconv.Itoa(serverPort) + `"`; !bytes.Contains(serve, []byte(want)) {
		t.Errorf("%s/serve.go has no default address %s; update serverPort and the manifests", rel, want)
	}
}
