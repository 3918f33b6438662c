package azuresim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/rassh/rassh/verifier/azure"
	"github.com/rassh/rassh/verifier/tdx/tdxsim"
)

// IMDS serves POST /acc/tdquote like Azure's Instance Metadata Service: it
// takes {"report": base64url TDREPORT} with the header "Metadata: true" and
// returns {"quote": base64url quote}, here a simulated quote over the
// TDREPORT's REPORTDATA.
type IMDS struct {
	Authority *tdxsim.Authority
	TD        tdxsim.TDConfig
	// Requests counts the quote requests served.
	Requests atomic.Int64
}

func (s *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/acc/tdquote" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Metadata") != "true" {
		http.Error(w, `{"error":"bad_request","error_description":"Required metadata header not specified"}`, http.StatusBadRequest)
		return
	}
	var req struct {
		Report string `json:"report"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<10)).Decode(&req); err != nil {
		http.Error(w, "invalid json", http.StatusBadRequest)
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(req.Report, "="))
	if err != nil {
		http.Error(w, "invalid report encoding", http.StatusBadRequest)
		return
	}
	td, err := azure.ParseTDReport(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	var reportData [64]byte
	copy(reportData[:], td.ReportData)
	quote, err := s.Authority.Quote(reportData, s.TD)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.Requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"quote": base64.RawURLEncoding.EncodeToString(quote)})
}
