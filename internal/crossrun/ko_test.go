package crossrun

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imagePlatforms are the platforms of the container image (.ko.yaml's
// defaultPlatforms).
var imagePlatforms = []string{"linux/amd64", "linux/arm64"}

// nonRootUser is the user of the base image, distroless's "nonroot".
const nonRootUser = "65532:65532"

// findKo returns the ko binary: on PATH or in $(go env GOPATH)/bin.
func findKo() string {
	if p, err := exec.LookPath("ko"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", "ko")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// pushEmptyBase writes to the registry at host a multi-platform image
// index of empty images (no layers; config with the platform and a
// non-root user): the offline stand-in for a distroless static base.
func pushEmptyBase(t *testing.T, host string) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range imagePlatforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
			OS: plat.OS, Architecture: plat.Architecture,
			RootFS: v1.RootFS{Type: "layers"},
			Config: v1.Config{User: nonRootUser},
		})
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	ref, err := name.ParseReference(host + "/base/static:nonroot")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing the empty base to the loopback registry: %v", err)
	}
	return ref.String()
}

// TestKoImage builds the server's multi-platform container image with ko
// (.ko.yaml) onto an empty base served by an in-process registry on
// loopback, into an OCI image layout, and checks that the layout lists
// linux/amd64 and linux/arm64 images whose entrypoint is the static
// mtcnn binary, and that the binaries are static, for their machine, and
// (amd64) run and carry the commit stamp.
func TestKoImage(t *testing.T) {
	skipShort(t)
	ko := findKo()
	if ko == "" {
		requireTool(t, "no ko on PATH or in $(go env GOPATH)/bin: go install github.com/google/ko@v0.19.1")
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	base := pushEmptyBase(t, host)

	root := moduleRoot(t)
	// ko names the layout's images after its path, which must then be a
	// valid repository name: lower case (t.TempDir has the test's name).
	tmp, err := os.MkdirTemp("", "ko-oci-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	out := filepath.Join(tmp, "oci")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ko, "build", "--push=false", "--bare",
		"--oci-layout-path", out, "--platform", strings.Join(imagePlatforms, ","), "./cmd/mtcnn")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"KO_DEFAULTBASEIMAGE="+base,
		"KO_DOCKER_REPO=registry.invalid/mtcnn-go/mtcnn", // a name only: nothing is pushed
		"KO_CONFIG_PATH="+filepath.Join(root, ".ko.yaml"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("ko build: %v\n%s", err, stderr.String())
	}
	t.Logf("ko built %s in %s: %s", strings.Join(imagePlatforms, ", "), time.Since(start).Round(time.Millisecond), bytes.TrimSpace(stdout))

	lp, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	root1, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]v1.Image{}
	if err := collectImages(root1, images); err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range images {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, imagePlatforms) {
		t.Fatalf("layout has images for %v, want %v", got, imagePlatforms)
	}

	commit := gitHead(root)
	for _, p := range imagePlatforms {
		img := images[p]
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/ko-app/mtcnn"}) {
			t.Errorf("%s: entrypoint %q, want [/ko-app/mtcnn]", p, cf.Config.Entrypoint)
		}
		if cf.Config.User != nonRootUser {
			t.Errorf("%s: user %q, want the base's %q", p, cf.Config.User, nonRootUser)
		}
		bin := extractFile(t, img, "ko-app/mtcnn")
		machine := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[p]
		checkStaticELF(t, bin, machine)
		if p != "linux/amd64" || !strings.HasPrefix(runtimePlatform(), "linux/amd64") {
			continue
		}
		vout, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, vout)
		}
		t.Logf("the image's binary says: %s", bytes.TrimSpace(vout))
		if commit != "" && !bytes.Contains(vout, []byte(commit)) {
			t.Errorf("the image's binary says %q, want commit %s stamped", vout, commit)
		}
	}
}

// collectImages walks an index (nested indexes included) and records its
// images by platform.
func collectImages(idx v1.ImageIndex, out map[string]v1.Image) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := collectImages(child, out); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			if d.Platform == nil {
				return fmt.Errorf("image %s has no platform in its index", d.Digest)
			}
			out[d.Platform.OS+"/"+d.Platform.Architecture] = img
		}
	}
	return nil
}

// extractFile writes the file at path (in the image's flattened file
// system, without the leading slash) to a temporary file and returns it.
func extractFile(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("no %s in the image", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") != path {
			continue
		}
		dst := filepath.Join(t.TempDir(), filepath.Base(path))
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return dst
	}
}

// gitHead returns the commit checked out at dir, or "" without git.
func gitHead(dir string) string {
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
