package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mtcnn-go/mtcnn/batch"
)

// job is the part of deploy/batch/job.yaml the test reads.
type job struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		CompletionMode       string `json:"completionMode"`
		Completions          *int   `json:"completions"`
		Parallelism          *int   `json:"parallelism"`
		BackoffLimitPerIndex *int   `json:"backoffLimitPerIndex"`
		Template             struct {
			Spec struct {
				RestartPolicy string `json:"restartPolicy"`
				Containers    []struct {
					Image        string   `json:"image"`
					Args         []string `json:"args"`
					Env          []envVar `json:"env"`
					VolumeMounts []struct {
						Name      string `json:"name"`
						MountPath string `json:"mountPath"`
						ReadOnly  bool   `json:"readOnly"`
					} `json:"volumeMounts"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// envVar is a container's environment variable taken from a field.
type envVar struct {
	Name      string `json:"name"`
	ValueFrom struct {
		FieldRef struct {
			FieldPath string `json:"fieldPath"`
		} `json:"fieldRef"`
	} `json:"valueFrom"`
}

// TestBatchJob checks deploy/batch/job.yaml: an Indexed Job of the CLI
// image whose pods run detect with -shard INDEX/N (N the completions) and
// their own -resume file on a writable volume, over a mounted collection;
// every flag it passes is one of detect's; and the shards of all the
// indexes, computed as the CLI computes them, cover a tree exactly once.
func TestBatchJob(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("batch", "job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, new(map[string]any)); err != nil {
		t.Fatal(err)
	}
	var j job
	if err := yaml.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Spec.CompletionMode != "Indexed" {
		t.Fatalf("%s %s, completionMode %q: want an Indexed batch/v1 Job", j.APIVersion, j.Kind, j.Spec.CompletionMode)
	}
	if j.Spec.Completions == nil || *j.Spec.Completions < 1 {
		t.Fatal("no completions")
	}
	n := *j.Spec.Completions
	if p := j.Spec.Parallelism; p == nil || *p < 1 || *p > n {
		t.Errorf("parallelism %v, want 1..%d", p, n)
	}
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != image {
		t.Errorf("image %q, want %q", c.Image, image)
	}
	if !slices.ContainsFunc(c.Env, func(e envVar) bool {
		return e.Name == "JOB_COMPLETION_INDEX" &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	}) {
		t.Error("JOB_COMPLETION_INDEX is not declared from the completion-index annotation, so $(JOB_COMPLETION_INDEX) would not expand")
	}
	if len(c.Args) == 0 || c.Args[0] != "detect" {
		t.Fatalf("args %q, want detect ...", c.Args)
	}

	// Flags and positional paths, as detect parses them.
	flags := map[string]string{}
	var paths []string
	boolFlags := map[string]bool{"-quiet": true, "-json": true, "-fma": true}
	for i := 1; i < len(c.Args); i++ {
		a := c.Args[i]
		if !strings.HasPrefix(a, "-") {
			paths = append(paths, a)
			continue
		}
		if boolFlags[a] {
			flags[a] = "true"
			continue
		}
		if i+1 >= len(c.Args) {
			t.Fatalf("flag %s without a value", a)
		}
		flags[a] = c.Args[i+1]
		i++
	}
	src := cliSource(t)
	for f := range flags {
		if !regexp.MustCompile(`"` + regexp.QuoteMeta(f[1:]) + `"`).MatchString(src) {
			t.Errorf("flag %s is not one of detect's", f)
		}
	}
	wantShard := fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n)
	if flags["-shard"] != wantShard {
		t.Errorf("-shard %q, want %q", flags["-shard"], wantShard)
	}
	resume := flags["-resume"]
	if !strings.Contains(resume, "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("-resume %q: each pod needs its own file", resume)
	}
	mounted := func(p string, writable bool) bool {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/") || p == m.MountPath {
				return !writable || !m.ReadOnly
			}
		}
		return false
	}
	if !mounted(resume, true) {
		t.Errorf("-resume %q is not on a writable volume", resume)
	}
	if len(paths) == 0 {
		t.Fatal("no collection path")
	}
	for _, p := range paths {
		if !mounted(p, false) {
			t.Errorf("collection %q is not on a mounted volume", p)
		}
	}

	// Every index's shard, as the CLI parses it, over one tree.
	dir := t.TempDir()
	for i := range 60 {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("IMG_%04d.jpg", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	items, err := batch.Walk(context.Background(), []string{dir}, nil)
	if err != nil || len(items) != 60 {
		t.Fatalf("walk: %d items, %v", len(items), err)
	}
	count := map[string]int{}
	for idx := range n {
		spec := strings.ReplaceAll(flags["-shard"], "$(JOB_COMPLETION_INDEX)", fmt.Sprint(idx))
		sh, err := batch.ParseShard(spec)
		if err != nil {
			t.Fatalf("index %d: -shard %s: %v", idx, spec, err)
		}
		for _, it := range sh.Filter(items) {
			count[it.Rel]++
		}
	}
	for _, it := range items {
		if count[it.Rel] != 1 {
			t.Errorf("%s is in %d shards of %d, want 1", it.Rel, count[it.Rel], n)
		}
	}
}

// cliSource returns the text of cmd/mtcnn's Go files, where detect's
// flags are registered.
func cliSource(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "cmd", "mtcnn", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/mtcnn sources: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
