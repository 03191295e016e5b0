package batch

import (
	"path"
	"path/filepath"
	"strings"
)

// OutputPath returns where an output derived from the image with relative
// path rel goes under dir: dir/<rel><suffix>, with rel's folders mirrored,
// e.g. OutputPath("out", "2024/IMG_0001.jpg", ".png") is
// out/2024/IMG_0001.jpg.png. The image's extension is kept, so IMG_1.jpg and
// IMG_1.heic in one folder do not collide either. Elements of rel that
// would leave dir ("..", a leading "/") cannot occur in a Rel made by Walk;
// any that do are dropped, so the result is always inside dir. The
// caller creates the parent directories (os.MkdirAll(filepath.Dir(p))).
//
// Every per-image output of the CLI (annotated images with -o, face crops)
// uses this rule, each under its own dir or with its own suffix.
func OutputPath(dir, rel, suffix string) string {
	clean := path.Clean("/" + rel) // resolves ".." without going above "/"
	clean = strings.TrimPrefix(clean, "/")
	return filepath.Join(dir, filepath.FromSlash(clean)+suffix)
}
