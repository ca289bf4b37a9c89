package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// HSTS is the Strict-Transport-Security value of answers sent over TLS:
// two years, the preload lists' minimum.
const HSTS = "max-age=63072000"

// hsts sets Strict-Transport-Security on answers to requests that came over
// TLS. Never on plain HTTP: a browser ignores it there (RFC 6797 §8.1), and
// a server behind a TLS-terminating proxy leaves it to the proxy.
func hsts(next http.Handler) http.Handler {
	val := []string{HSTS} // shared, as in securityHeaders
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header()["Strict-Transport-Security"] = val
		}
		next.ServeHTTP(w, r)
	})
}

// CertCheckInterval is how often, at most, a CertReloader looks at its files.
const CertCheckInterval = time.Second

// CertReloader serves a certificate and key pair from two PEM files and
// loads them again when either file changes (size or modification time),
// so a renewed certificate is served without a restart. A pair that fails
// to load (a half-written file, a key that does not match) is logged once
// and the previous pair is kept until the files change again.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     fileStamp // of the files when last loaded or tried
	checkedAt time.Time
}

// fileStamp identifies a version of the two files.
type fileStamp struct {
	certSize, keySize   int64
	certMTime, keyMTime time.Time
}

// NewCertReloader loads the pair, and fails with the reason when it cannot.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	stamp, err := r.statFiles()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.stamp, r.checkedAt = &cert, stamp, r.now()
	return r, nil
}

func (r *CertReloader) statFiles() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: certificate file: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: key file: %w", err)
	}
	return fileStamp{certSize: c.Size(), keySize: k.Size(), certMTime: c.ModTime(), keyMTime: k.ModTime()}, nil
}

// GetCertificate is tls.Config.GetCertificate: the current pair, loaded
// again first if the files changed since the last look (at most one look
// per CertCheckInterval, so a handshake costs no system call as a rule).
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if now.Sub(r.checkedAt) < CertCheckInterval {
		return r.cert, nil
	}
	r.checkedAt = now
	stamp, err := r.statFiles()
	if err != nil {
		// A file being replaced may be missing for an instant: keep serving,
		// and say so once for this state of the files.
		if r.stamp != (fileStamp{}) {
			r.log.Error("tls: cannot read the certificate files; serving the previous certificate", "err", err)
			r.stamp = fileStamp{}
		}
		return r.cert, nil
	}
	if stamp == r.stamp {
		return r.cert, nil
	}
	r.stamp = stamp // tried once per change of the files, so logged once
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Error("tls: the changed certificate does not load; serving the previous one",
			"cert", r.certFile, "key", r.keyFile, "err", err)
		return r.cert, nil
	}
	r.cert = &cert
	r.log.Info("tls: certificate reloaded", "cert", r.certFile)
	return r.cert, nil
}

// TLSConfig is the TLS configuration of latchkey's listeners: TLS 1.2 or
// later, HTTP/2 or HTTP/1.1, the certificate from r.
func TLSConfig(r *CertReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
