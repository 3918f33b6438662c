package maatest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/rassh/rassh/verifier"
)

// attestRequest is the body of POST /attest/TdxVm (MAA REST API
// "Attestation - Attest Tdx Vm").
type attestRequest struct {
	Quote       string       `json:"quote"`
	RuntimeData *runtimeData `json:"runtimeData"`
}

type runtimeData struct {
	Data     string `json:"data"`
	DataType string `json:"dataType"`
}

// claimsSupported lists the claims the emulator's tokens carry.
var claimsSupported = []string{
	"x-ms-ver", "x-ms-attestation-type", "x-ms-compliance-status", "x-ms-policy-hash", "x-ms-runtime",
	"attester_tcb_status", "dbgstat", "eat_profile", "intuse",
	"tdx_mrtd", "tdx_rtmr0", "tdx_rtmr1", "tdx_rtmr2", "tdx_rtmr3", "tdx_mrconfigid", "tdx_mrowner",
	"tdx_mrownerconfig", "tdx_mrseam", "tdx_td_attributes", "tdx_td_attributes_debug", "tdx_xfam",
	"tdx_tee_tcb_svn", "tdx_report_data", simulatedClaim,
}

// simulatedClaim is the claim the token verifier reads as Claims.Simulated
// (token.SimulatedClaim; not imported, so that package's tests can use this
// one).
const simulatedClaim = "x-rassh-simulated"

// policyHash is the emulator's x-ms-policy-hash. The emulator has no
// attestation policy, so it hashes a fixed description of what it does.
var policyHash = func() string {
	sum := sha256.Sum256([]byte("rassh MAA emulator: verify the quote and its runtime data; no further policy"))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

func (s *Server) handleAttest(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "the api-version query parameter is required")
		return
	}
	ev, err := readAttestRequest(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}

	claims, err := s.Evidence.Verify(r.Context(), ev)
	switch {
	case verifier.IsUndecided(err):
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}

	token, err := s.issue(s.issuer(r), claims, ev.RuntimeData)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

// readAttestRequest decodes the body strictly: size-bounded, no unknown
// fields, no trailing data, base64url values, runtime data of type JSON
// holding a JSON object.
func readAttestRequest(w http.ResponseWriter, r *http.Request) (verifier.Evidence, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestSize))
	if err != nil {
		return verifier.Evidence{}, fmt.Errorf("read request: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req attestRequest
	if err := dec.Decode(&req); err != nil {
		return verifier.Evidence{}, fmt.Errorf("invalid request JSON: %w", err)
	}
	if dec.More() {
		return verifier.Evidence{}, errors.New("invalid request JSON: data after the object")
	}

	quote, err := decodeBase64URL(req.Quote)
	if err != nil || len(quote) == 0 {
		return verifier.Evidence{}, errors.New("quote must be non-empty base64url")
	}
	if req.RuntimeData == nil || req.RuntimeData.DataType != "JSON" {
		return verifier.Evidence{}, errors.New(`runtimeData with dataType "JSON" is required`)
	}
	data, err := decodeBase64URL(req.RuntimeData.Data)
	if err != nil {
		return verifier.Evidence{}, errors.New("runtimeData.data must be base64url")
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(data, &object); err != nil {
		return verifier.Evidence{}, fmt.Errorf("runtimeData.data is not a JSON object: %w", err)
	}
	return verifier.Evidence{Kind: verifier.EvidenceAzureTDX, Quote: quote, RuntimeData: data}, nil
}

// decodeBase64URL accepts base64url with or without padding, as MAA does.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// issue signs a token carrying MAA's TdxVm claims for c.
func (s *Server) issue(issuer string, c *verifier.Claims, runtime []byte) (string, error) {
	now := s.now()
	lifetime := s.TokenLifetime
	if lifetime == 0 {
		lifetime = DefaultTokenLifetime
	}
	var compacted bytes.Buffer
	if err := json.Compact(&compacted, runtime); err != nil {
		return "", fmt.Errorf("issue token: runtime data: %w", err)
	}

	claims := jwt.MapClaims{
		"iss":                   issuer,
		"iat":                   now.Unix(),
		"nbf":                   now.Unix(),
		"exp":                   now.Add(lifetime).Unix(),
		"jti":                   hex.EncodeToString(randomBytes(32)),
		"x-ms-ver":              "1.0",
		"x-ms-attestation-type": "tdxvm",
		"x-ms-policy-hash":      policyHash,
		"x-ms-runtime":          json.RawMessage(compacted.Bytes()),
		"eat_profile":           "https://aka.ms/maa-eat-profile-tdxvm",
		"intuse":                "generic",
		"dbgstat":               debugStatus(c.Debug),
	}
	addTDXClaims(claims, c)
	// The emulator has no copy of MAA's default TdxVm policy. It calls a TD
	// compliant when it is not debuggable, and omits the claim otherwise.
	if !c.Debug {
		claims["x-ms-compliance-status"] = "azure-compliant-cvm"
	}
	if c.TCB != nil {
		claims["attester_tcb_status"] = c.TCB.Status
	}
	if c.Simulated {
		claims[simulatedClaim] = true
	}
	return s.SigningKey().Sign(claims, issuer+"/certs", nil)
}

func addTDXClaims(claims jwt.MapClaims, c *verifier.Claims) {
	hexClaims := map[string]verifier.HexBytes{
		"tdx_mrtd":          c.MRTD,
		"tdx_rtmr0":         c.RTMRs[0],
		"tdx_rtmr1":         c.RTMRs[1],
		"tdx_rtmr2":         c.RTMRs[2],
		"tdx_rtmr3":         c.RTMRs[3],
		"tdx_mrconfigid":    c.MRConfigID,
		"tdx_mrowner":       c.MROwner,
		"tdx_mrownerconfig": c.MROwnerConfig,
		"tdx_mrseam":        c.MRSeam,
		"tdx_td_attributes": c.TDAttributes,
		"tdx_xfam":          c.XFAM,
		"tdx_tee_tcb_svn":   c.TEETCBSVN,
		"tdx_report_data":   c.ReportData,
	}
	for name, value := range hexClaims {
		if len(value) > 0 {
			claims[name] = value.String()
		}
	}
	claims["tdx_td_attributes_debug"] = c.Debug
}

func debugStatus(debug bool) string {
	if debug {
		return "enabled"
	}
	return "disabled"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
