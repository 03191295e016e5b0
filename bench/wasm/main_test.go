package main

import "testing"

func TestCompare(t *testing.T) {
	ref := []byte(`{"image":"a.png","faces":[{"box":[1.5,2],"score":0.99}]}` + "\n")
	for _, tc := range []struct {
		name        string
		out         string
		exact, same bool
	}{
		{"identical", string(ref), true, true},
		{"extra fields", `{"image":"a.png","faces":[{"box":[1.5,2],"score":0.99,"pose":{"yaw":1}}],"extra":1}` + "\n", false, true},
		{"other number text", `{"image":"a.png","faces":[{"box":[1.50,2],"score":0.99}]}` + "\n", false, false},
		{"other value", `{"image":"a.png","faces":[{"box":[1.5,3],"score":0.99}]}` + "\n", false, false},
		{"missing face", `{"image":"a.png","faces":[]}` + "\n", false, false},
		{"missing field", `{"image":"a.png","faces":[{"box":[1.5,2]}]}` + "\n", false, false},
		{"two lines", string(ref) + string(ref), false, false},
		{"not JSON", "oops", false, false},
	} {
		exact, same := compare(ref, []byte(tc.out))
		if exact != tc.exact || same != tc.same {
			t.Errorf("%s: compare = %v, %v, want %v, %v", tc.name, exact, same, tc.exact, tc.same)
		}
	}
}
