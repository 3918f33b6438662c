package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const itaMRTD = "bb379f8e734a755832509f61403f99db2258a70a01e1172a499d6d364101b0675455b4e372a35c1f006541f2de0d7154"

func TestLoadExampleFile(t *testing.T) {
	p, err := Load(filepath.Join("..", "..", "deploy", "ca-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	want := &Policy{
		Platforms:          []string{"azure-tdx"},
		AttestationTypes:   []string{"tdxvm"},
		ComplianceStatuses: []string{"azure-compliant-cvm"},
		MAAClaimsOnly:      true,
		RequireCollateral:  true,
		TCBStatuses:        []string{"UpToDate", "SWHardeningNeeded"},
		TCBGracePeriods:    map[string]Duration{"OutOfDate": Duration(30 * 24 * time.Hour)},
		MRTDs:              []Hex{mustHex(t, itaMRTD)},
		RTMRs:              map[int][]Hex{0: {make(Hex, 48)}},
		MinTEETCBSVN:       mustHex(t, "04010700000000000000000000000000"),
		VMConfiguration:    &VMConfigurationRule{SecureBoot: &yes, TPMEnabled: &yes},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("Load =\n%+v\nwant\n%+v", p, want)
	}
}

func TestParseJSON(t *testing.T) {
	p, err := Parse([]byte(`{"tcb_statuses": ["UpToDate", "OutOfDate"], "allow_debug": true, "mrtds": ["` + itaMRTD + `"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.RequireCollateral || !p.AllowDebug || p.AllowSimulated {
		t.Errorf("require_collateral %v, allow_debug %v, allow_simulated %v", p.RequireCollateral, p.AllowDebug, p.AllowSimulated)
	}
	if !reflect.DeepEqual(p.TCBStatuses, []string{"UpToDate", "OutOfDate"}) {
		t.Errorf("tcb_statuses = %v", p.TCBStatuses)
	}
	if len(p.MRTDs) != 1 || p.MRTDs[0].String() != itaMRTD {
		t.Errorf("mrtds = %v", p.MRTDs)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, doc := range []string{"", "{}", "# only a comment\n"} {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if !reflect.DeepEqual(p, DefaultCA()) {
			t.Errorf("%q: %+v, want DefaultCA %+v", doc, p, DefaultCA())
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown field", "allow_debugg: true",
			`policy: unknown field "allow_debugg"`},
		{"repeated field", "allow_debug: true\nallow_debug: false",
			`policy: invalid YAML: line 2: key "allow_debug" already set in map`},
		{"unknown nested field", "vm_configuration: {secureboot: true}",
			`policy: unknown field "secureboot"`},
		{"invalid hex", "mrtds: [xyz]",
			`policy: invalid hex string "xyz": encoding/hex: invalid byte: U+0078 'x'`},
		{"short mrtd", "mrtds: ['00']", "policy: mrtds[0]: 1 bytes, expected 48"},
		{"rtmr index", "rtmrs: {4: ['" + itaMRTD + "']}", "policy: rtmrs: index 4 out of range 0 to 3"},
		{"empty rtmr set", "rtmrs: {1: []}", "policy: rtmrs[1]: empty set, list the allowed values or remove the index"},
		{"short rtmr", "rtmrs: {2: ['00']}", "policy: rtmrs[2][0]: 1 bytes, expected 48"},
		{"short svn", "min_tee_tcb_svn: '0401'", "policy: min_tee_tcb_svn: 2 bytes, expected 16"},
		{"unknown platform", "platforms: [sev-snp]", `policy: platforms: unknown platform "sev-snp", expected "tdx" or "azure-tdx"`},
		{"unknown status", "tcb_statuses: [Fine]",
			`policy: tcb_statuses: unknown status "Fine", expected one of [UpToDate SWHardeningNeeded ConfigurationNeeded ConfigurationAndSWHardeningNeeded OutOfDate OutOfDateConfigurationNeeded NoMatchingTCBLevel]`},
		{"revoked allowed", "tcb_statuses: [UpToDate, Revoked]", "policy: tcb_statuses: status Revoked can never be allowed"},
		{"revoked grace", "tcb_grace_periods: {Revoked: 1d}", "policy: tcb_grace_periods: status Revoked can never be allowed"},
		{"zero grace", "tcb_grace_periods: {OutOfDate: 0s}", "policy: tcb_grace_periods: OutOfDate: period 0s is not positive"},
		{"numeric grace", "tcb_grace_periods: {OutOfDate: 30}",
			`policy: invalid duration 30, expected a string such as "720h" or "30d"`},
		{"invalid days", "tcb_grace_periods: {OutOfDate: 1.5d}",
			`policy: invalid duration "1.5d", expected whole days from 0 to 3650`},
		{"no statuses with collateral", "tcb_statuses: []",
			"policy: tcb_statuses: empty while require_collateral is true, list the allowed statuses, for example [UpToDate]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}
}

func TestParseNoStatusesWithoutCollateral(t *testing.T) {
	p, err := Parse([]byte("require_collateral: false\ntcb_statuses: []"))
	if err != nil {
		t.Fatal(err)
	}
	if p.RequireCollateral || len(p.TCBStatuses) != 0 {
		t.Errorf("require_collateral %v, tcb_statuses %v", p.RequireCollateral, p.TCBStatuses)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big)
	if want := "policy: read " + big + ": larger than the maximum of 1048576 bytes"; err == nil || err.Error() != want {
		t.Errorf("oversized: error = %v, want %s", err, want)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("allow_debug: maybe"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	want := `policy: invalid value for field "allow_debug": expected a boolean, found a string (in ` + bad + ")"
	if err == nil || err.Error() != want {
		t.Errorf("invalid value: error = %v\nwant    %s", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if want := "policy: open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("missing file: error = %v, want %s", err, want)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"36h30m"`)); err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalJSON()
	if err != nil || string(b) != `"36h30m0s"` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
}

func mustHex(t *testing.T, s string) Hex {
	t.Helper()
	var h Hex
	if err := h.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil {
		t.Fatal(err)
	}
	return h
}
