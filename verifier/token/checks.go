package token

// Check names set in verifier.RejectedError.Check, one per way a token can be
// rejected, so logs, metrics and tests can tell them apart.
const (
	CheckSize        = "token size"          // longer than Verifier.MaxSize
	CheckFormat      = "token format"        // not three base64url segments of JSON, or a critical header
	CheckAlg         = "token alg"           // none, HMAC, or not configured for the issuer
	CheckIssuer      = "token issuer"        // iss not pinned, or not the pinned value
	CheckHostScope   = "token host scope"    // the issuer may not vouch for the host
	CheckKid         = "token kid"           // no kid, or not in the issuer's key set after a refetch
	CheckSignature   = "token signature"     // signature invalid, or the key does not fit alg
	CheckExpired     = "token expired"       // exp passed, beyond the leeway
	CheckNotYetValid = "token not yet valid" // nbf or iat in the future, beyond the leeway
	CheckAge         = "token age"           // no iat, or iat older than Verifier.MaxAge
	CheckClaims      = "token claims"        // a claim missing, of the wrong type or length
)
