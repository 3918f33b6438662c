package yamlconfig

import (
	"encoding/json"
	"errors"
	"testing"
)

type testConfig struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Ports []uint16 `json:"ports"`
	On    *bool    `json:"enabled"`
	Inner struct {
		Size int `json:"size"`
	} `json:"inner"`
}

func TestUnmarshalValid(t *testing.T) {
	var c testConfig
	if err := Unmarshal([]byte("name: a\ncount: 2\nports: [22]\nenabled: true\ninner:\n  size: 3\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "a" || c.Count != 2 || len(c.Ports) != 1 || c.Ports[0] != 22 || c.On == nil || !*c.On || c.Inner.Size != 3 {
		t.Errorf("Unmarshal = %+v", c)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	cases := []struct{ name, input, want string }{
		{"unknown field", "nme: a\n", `unknown field "nme"`},
		{"unknown field in JSON", `{"name":"a","x":1}`, `unknown field "x"`},
		{"repeated key", "name: a\nname: b\n", `invalid YAML: line 2: key "name" already set in map`},
		{"syntax", "name: [\n", "invalid YAML: line 1: did not find expected node content"},
		{"string for integer", "count: many\n", `invalid value for field "count": expected an integer, found a string`},
		{"fraction for integer", "count: 1.5\n", `invalid value for field "count": expected an integer, found number 1.5`},
		{"number for list", "ports: 22\n", `invalid value for field "ports": expected a list, found a number`},
		{"string for boolean", "enabled: maybe\n", `invalid value for field "enabled": expected a boolean, found a string`},
		{"nested field", "inner:\n  size: big\n", `invalid value for field "inner.size": expected an integer, found a string`},
		{"list document", "- a\n", "invalid document: expected a mapping, found a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v testConfig
			err := Unmarshal([]byte(c.input), &v)
			if err == nil || err.Error() != c.want {
				t.Errorf("Unmarshal(%q) error = %v, want %q", c.input, err, c.want)
			}
		})
	}
}

func TestUnmarshalWrapsTypeError(t *testing.T) {
	var v testConfig
	err := Unmarshal([]byte("count: many\n"), &v)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		t.Fatalf("Unmarshal error %v does not wrap *json.UnmarshalTypeError", err)
	}
}
