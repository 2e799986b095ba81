package csvdata

import (
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	d, err := Read(strings.NewReader("x1,x2,y\n1.5,-2,1\n0,3e-1,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.P != 2 {
		t.Fatalf("dims %d×%d, want 2×2", d.N, d.P)
	}
	if got := d.Row(1); got[0] != 0 || got[1] != 0.3 {
		t.Errorf("row 1 = %v, want [0 0.3]", got)
	}
	if !d.Y[0] || d.Y[1] {
		t.Errorf("labels %v, want [true false]", d.Y)
	}
}

func TestReadErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"no rows":    "x1,y\n",
		"bad label":  "x1,y\n1,2\n",
		"bad float":  "x1,y\nabc,1\n",
		"short line": "x1,x2,y\n1,1\n",
	} {
		if _, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
