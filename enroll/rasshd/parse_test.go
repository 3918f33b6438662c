package rasshd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func TestParseProcessStat(t *testing.T) {
	// A real line from /proc/PID/stat of cat(1), with the command name
	// replaced by one that contains spaces and parentheses.
	line := "7380 (a) b (c) R 7374 7374 4558 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 110478 3133440 383 18446744073709551615 94343955009536 0\n"
	st, err := parseProcessStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != 7374 || st.StartTime != 110478 {
		t.Fatalf("ppid %d start %d, want 7374 and 110478", st.PPID, st.StartTime)
	}
}

func TestParseProcessStatErrors(t *testing.T) {
	cases := map[string]string{
		"no command":    "1 sshd R 1",
		"short":         "1 (sshd) R 1 2 3",
		"bad ppid":      "1 (sshd) R x 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0",
		"bad starttime": "1 (sshd) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0",
	}
	want := map[string]string{
		"no command":    "invalid stat: no command name",
		"short":         "invalid stat: 4 fields after the command name, expected at least 20",
		"bad ppid":      `invalid stat: parent PID: strconv.Atoi: parsing "x": invalid syntax`,
		"bad starttime": `invalid stat: start time: strconv.ParseUint: parsing "-5": invalid syntax`,
	}
	for name, line := range cases {
		_, err := parseProcessStat([]byte(line))
		if err == nil || err.Error() != want[name] {
			t.Errorf("%s: err = %v, want %s", name, err, want[name])
		}
	}
}

func TestAncestorsOfSelf(t *testing.T) {
	procs := ancestors(os.Getpid())
	if len(procs) == 0 || procs[0].PID != os.Getpid() {
		t.Fatalf("ancestors start with %v, want this process", procs)
	}
	if len(procs) > 1 && procs[1].PID != os.Getppid() {
		t.Fatalf("second ancestor %d, want parent %d", procs[1].PID, os.Getppid())
	}
	self, err := identifyProcess(os.Getpid())
	if err != nil || self != procs[0] {
		t.Fatalf("identifyProcess = %v, %v; want %v", self, err, procs[0])
	}
}

func wireString(s []byte) []byte { return appendString(nil, s) }

func proveData(label string, sessionID, hostKey []byte) []byte {
	b := wireString([]byte(label))
	b = append(b, wireString(sessionID)...)
	return append(b, wireString(hostKey)...)
}

func TestClassifySignData(t *testing.T) {
	for _, n := range []int{20, 32, 48, 64} {
		kind, _, err := classifySignData(make([]byte, n))
		if err != nil || kind != signExchangeHash {
			t.Errorf("%d bytes: kind %v err %v, want exchange hash", n, kind, err)
		}
	}
	key := []byte("host key blob")
	sid := bytes.Repeat([]byte{7}, 32)
	kind, prove, err := classifySignData(proveData(hostkeysProveLabel, sid, key))
	if err != nil || kind != signHostkeysProve || !bytes.Equal(prove.SessionID, sid) || !bytes.Equal(prove.HostKey, key) {
		t.Fatalf("hostkeys-prove: kind %v prove %+v err %v", kind, prove, err)
	}
}

func TestClassifySignDataRejects(t *testing.T) {
	sid := bytes.Repeat([]byte{7}, 32)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "refusing to sign 0 bytes: neither an exchange hash nor a hostkeys-prove request"},
		{"33 bytes", make([]byte, 33), "refusing to sign 33 bytes: neither an exchange hash nor a hostkeys-prove request"},
		{"SSHSIG", append([]byte("SSHSIG"), make([]byte, 100)...), "refusing to sign 106 bytes: neither an exchange hash nor a hostkeys-prove request"},
		{"other label", proveData("hostkeys-prove-01@openssh.com", sid, []byte("k")), "refusing to sign 74 bytes: neither an exchange hash nor a hostkeys-prove request"},
		{"short session ID", proveData(hostkeysProveLabel, sid[:10], []byte("k")), "refusing to sign hostkeys-prove request: invalid session ID"},
		{"empty key", proveData(hostkeysProveLabel, sid, nil), "refusing to sign hostkeys-prove request: invalid host key field"},
		{"trailing data", append(proveData(hostkeysProveLabel, sid, []byte("k")), 0), "refusing to sign hostkeys-prove request: invalid host key field"},
	}
	for _, tc := range cases {
		_, _, err := classifySignData(tc.data)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestReadAgentMessageBounds(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, maxAgentMessage+1)
	if _, _, err := readAgentMessage(bytes.NewReader(huge)); !errors.Is(err, errAgentMessage) {
		t.Fatalf("oversized message: err = %v, want errAgentMessage", err)
	}
	zero := []byte{0, 0, 0, 0}
	if _, _, err := readAgentMessage(bytes.NewReader(zero)); !errors.Is(err, errAgentMessage) {
		t.Fatalf("empty message: err = %v, want errAgentMessage", err)
	}
}

func TestParseSignRequest(t *testing.T) {
	body := append(wireString([]byte("key")), wireString(make([]byte, 32))...)
	body = binary.BigEndian.AppendUint32(body, agentRSASHA512)
	req, err := parseSignRequest(body)
	if err != nil || string(req.KeyBlob) != "key" || len(req.Data) != 32 || req.Flags != agentRSASHA512 {
		t.Fatalf("parseSignRequest = %+v, %v", req, err)
	}
	if _, err := parseSignRequest(body[:len(body)-1]); err == nil || err.Error() != "malformed ssh-agent message: sign request flags" {
		t.Fatalf("truncated flags: err = %v", err)
	}
}

func FuzzParseProcessStat(f *testing.F) {
	f.Add([]byte("7380 (cat) R 7374 7374 4558 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 110478 3133440 383 18446744073709551615 0\n"))
	if data, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseProcessStat(data)
	})
}

func FuzzAgentRequest(f *testing.F) {
	sign := append(wireString([]byte("key")), wireString(make([]byte, 32))...)
	sign = binary.BigEndian.AppendUint32(sign, 0)
	f.Add(byte(agentSignRequest), sign)
	f.Add(byte(agentSignRequest), append(append(wireString([]byte("key")), wireString(proveData(hostkeysProveLabel, make([]byte, 32), []byte("key")))...), 0, 0, 0, 0))
	f.Add(byte(agentRequestIdentites), []byte{})
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		msg := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
		msg = append(append(msg, typ), body...)
		gotType, gotBody, err := readAgentMessage(bytes.NewReader(msg))
		if err != nil {
			return
		}
		if gotType != typ || !bytes.Equal(gotBody, body) {
			t.Fatalf("message changed in reading")
		}
		req, err := parseSignRequest(gotBody)
		if err != nil {
			return
		}
		classifySignData(req.Data)
	})
}
