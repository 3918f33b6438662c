package yamlconfig

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationRoundTrip(t *testing.T) {
	var v struct {
		Timeout Duration `json:"timeout"`
	}
	if err := Unmarshal([]byte("timeout: 1h30m\n"), &v); err != nil {
		t.Fatal(err)
	}
	if time.Duration(v.Timeout) != 90*time.Minute {
		t.Errorf("timeout = %v, want 1h30m0s", time.Duration(v.Timeout))
	}
	out, err := json.Marshal(v.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `"1h30m0s"` {
		t.Errorf("MarshalJSON = %s, want \"1h30m0s\"", out)
	}
}

func TestDurationErrors(t *testing.T) {
	cases := []struct{ input, want string }{
		{"timeout: 15\n", `invalid duration 15, expected a string such as "10m"`},
		{"timeout: soon\n", `invalid duration "soon": time: invalid duration "soon"`},
	}
	for _, c := range cases {
		var v struct {
			Timeout Duration `json:"timeout"`
		}
		err := Unmarshal([]byte(c.input), &v)
		if err == nil || err.Error() != c.want {
			t.Errorf("Unmarshal(%q) error = %v, want %q", c.input, err, c.want)
		}
	}
}
