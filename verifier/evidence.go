package verifier

// Evidence kinds.
const (
	// EvidenceTDXQuote is a TDX quote whose REPORTDATA is the binding value.
	EvidenceTDXQuote = "tdx-quote"
	// EvidenceAzureTDX is a TDX quote from an Azure CVM plus the runtime-data
	// JSON it commits to, whose user-data is the binding value.
	EvidenceAzureTDX = "azure-tdx"
)

// Evidence is what a host presents: a quote, and on Azure the exact runtime
// data bytes from its HCL report.
type Evidence struct {
	Kind        string `json:"kind"`
	Quote       []byte `json:"quote"`
	RuntimeData []byte `json:"runtime_data,omitempty"`
}

// Size limits for evidence, applied by every parser before it reads further.
const (
	MaxQuoteSize       = 64 << 10
	MaxRuntimeDataSize = 16 << 10
)
