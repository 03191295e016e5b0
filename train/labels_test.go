package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const jsonlSample = `{"image":"a.jpg","width":100,"height":80,"faces":[{"box":[10,20,40,60],"score":0.99,"landmarks":[[20,30],[30,30],[25,40],[20,50],[30,50]]}]}

{"image":"b.jpg","faces":[{"box":[1,2,3,4]},{"box":[5,5,5,9]},{"box":[0,0,10,10],"landmarks":null}]}
{"image":"/abs/c.png","faces":[]}
`

const widerSample = `0--Parade/0_Parade_marchingband_1_849.jpg
1
449 330 122 149 0 0 0 0 0 0 
0--Parade/0_Parade_Parade_0_904.jpg
0
0 0 0 0 0 0 0 0 0 0 
0--Parade/0_Parade_marchingband_1_799.jpg
3
78 221 7 8 2 0 0 0 0 0 
78 238 0 14 0 0 0 0 0 0 
113 212 11 15 2 0 0 1 0 0 
`

const vocSample = `<annotation>
	<folder>images</folder>
	<filename>maksssksksss0.png</filename>
	<size><width>512</width><height>366</height><depth>3</depth></size>
	<object><name>without_mask</name><bndbox><xmin>79</xmin><ymin>105</ymin><xmax>109</xmax><ymax>142</ymax></bndbox></object>
	<object><name>with_mask</name><bndbox><xmin>185</xmin><ymin>100</ymin><xmax>226</xmax><ymax>144</ymax></bndbox></object>
	<object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>50</ymax></bndbox></object>
	<object><name>with_mask</name><bndbox><xmin>325</xmin><ymin>90</ymin><xmax>325</xmax><ymax>100</ymax></bndbox></object>
</annotation>`

func TestParseJSONL(t *testing.T) {
	l, err := ParseJSONL(strings.NewReader(jsonlSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Images) != 3 || l.ZeroSize != 1 {
		t.Fatalf("%d images, %d zero-size boxes; want 3 and 1", len(l.Images), l.ZeroSize)
	}
	a := l.Images[0]
	if a.Path != "a.jpg" || len(a.Faces) != 1 || a.Faces[0].Box != [4]float32{10, 20, 40, 60} || a.Faces[0].Landmarks == nil || a.Faces[0].Landmarks[2] != [2]float32{25, 40} {
		t.Errorf("first image %+v", a)
	}
	if b := l.Images[1]; len(b.Faces) != 2 || b.Faces[1].Landmarks != nil {
		t.Errorf("second image %+v", b)
	}
	for _, bad := range []string{`{"image":"a.jpg","faces":[{"score":1}]}`, `{"faces":[]}`, `not json`, `{"image":"a","faces":[{"box":[1,2,3]}]}`} {
		if _, err := ParseJSONL(strings.NewReader(bad)); !errors.Is(err, ErrLabels) {
			t.Errorf("%s: error %v, want ErrLabels", bad, err)
		}
	}
}

func TestParseWIDER(t *testing.T) {
	l, err := ParseWIDER(strings.NewReader(widerSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Images) != 3 {
		t.Fatalf("%d images, want 3", len(l.Images))
	}
	if f := l.Images[0].Faces; len(f) != 1 || f[0].Box != [4]float32{449, 330, 571, 479} {
		t.Errorf("first image faces %+v", f)
	}
	if f := l.Images[1].Faces; len(f) != 0 {
		t.Errorf("second image faces %+v, want none", f)
	}
	// One zero-width box and one marked invalid.
	if f := l.Images[2].Faces; len(f) != 1 || l.ZeroSize != 2 {
		t.Errorf("third image faces %+v, %d dropped; want 1 and 2", f, l.ZeroSize)
	}
	for _, bad := range []string{"a.jpg\n", "a.jpg\nx\n", "a.jpg\n2\n1 2 3 4\n", "a.jpg\n-1\n", "a.jpg\n1\n1 2 three 4\n", "a.jpg\n1\n1 2\n"} {
		if _, err := ParseWIDER(strings.NewReader(bad)); !errors.Is(err, ErrLabels) {
			t.Errorf("%q: error %v, want ErrLabels", bad, err)
		}
	}
}

func TestParseVOC(t *testing.T) {
	var l Labels
	if err := l.ParseVOC(strings.NewReader(vocSample), []string{"with_mask", "Without_Mask"}); err != nil {
		t.Fatal(err)
	}
	if len(l.Images) != 1 || len(l.Images[0].Faces) != 2 || l.OtherClass != 1 || l.ZeroSize != 1 {
		t.Fatalf("%+v", l)
	}
	if l.Images[0].Path != "maksssksksss0.png" || l.Images[0].Faces[1].Box != [4]float32{185, 100, 226, 144} {
		t.Errorf("%+v", l.Images[0])
	}
	var all Labels
	if err := all.ParseVOC(strings.NewReader(vocSample), nil); err != nil || len(all.Images[0].Faces) != 3 {
		t.Errorf("all classes: %v, %+v", err, all.Images)
	}
	for _, bad := range []string{"", "<annotation>", "<annotation><object/></annotation>", "<annotation><filename>a</filename><object><bndbox><xmin>x</xmin></bndbox></object></annotation>"} {
		var l Labels
		if err := l.ParseVOC(strings.NewReader(bad), nil); !errors.Is(err, ErrLabels) {
			t.Errorf("%q: error %v, want ErrLabels", bad, err)
		}
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	l, err := ReadLabels(JSONL, write("l.jsonl", jsonlSample), "/imgs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Images[0].Path != filepath.Join("/imgs", "a.jpg") || l.Images[2].Path != "/abs/c.png" {
		t.Errorf("paths %q, %q", l.Images[0].Path, l.Images[2].Path)
	}
	if _, err := ReadLabels(WIDER, write("w.txt", widerSample), dir, nil); err != nil {
		t.Error(err)
	}
	vocDir := filepath.Join(dir, "voc")
	os.Mkdir(vocDir, 0o755)
	write("voc/a.xml", vocSample)
	write("voc/readme.txt", "not xml")
	if l, err := ReadLabels(VOC, vocDir, dir, []string{"with_mask"}); err != nil || len(l.Images) != 1 || len(l.Images[0].Faces) != 1 {
		t.Errorf("voc: %v %+v", err, l)
	}
	for _, c := range []struct {
		f    Format
		path string
	}{
		{JSONL, write("empty.jsonl", "")},
		{WIDER, write("blank.txt", "\n\n")},
		{JSONL, filepath.Join(dir, "missing.jsonl")},
		{VOC, filepath.Join(dir, "missing")},
		{VOC, write("voc-empty", "")},
		{"csv", write("x.csv", "a")},
	} {
		if _, err := ReadLabels(c.f, c.path, dir, nil); !errors.Is(err, ErrLabels) {
			t.Errorf("%s %s: error %v, want ErrLabels", c.f, c.path, err)
		}
	}
}

// checkLabels is what every parse must give: boxes of positive, finite
// area.
func checkLabels(t *testing.T, l *Labels) {
	for _, img := range l.Images {
		for _, f := range img.Faces {
			if !(f.Box[2] > f.Box[0] && f.Box[3] > f.Box[1]) {
				t.Fatalf("kept box %v", f.Box)
			}
		}
	}
}

func FuzzParseJSONL(f *testing.F) {
	f.Add([]byte(jsonlSample))
	f.Add([]byte(`{"image":"x","faces":[{"box":[1e39,0,-1e39,5]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, err := ParseJSONL(strings.NewReader(string(data))); err == nil {
			checkLabels(t, l)
		}
	})
}

func FuzzParseWIDER(f *testing.F) {
	f.Add([]byte(widerSample))
	f.Add([]byte("a\n99999\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if l, err := ParseWIDER(strings.NewReader(string(data))); err == nil {
			checkLabels(t, l)
		}
	})
}

func FuzzParseVOC(f *testing.F) {
	f.Add([]byte(vocSample))
	f.Add([]byte("<annotation><filename>a</filename><object><name>n</name><bndbox><xmin>NaN</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Labels
		if err := l.ParseVOC(strings.NewReader(string(data)), []string{"face"}); err == nil {
			checkLabels(t, &l)
		}
	})
}
