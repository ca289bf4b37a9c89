package oauth

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey-dev/latchkey/internal/logevery"
	"github.com/latchkey-dev/latchkey/internal/reqid"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

// Audit event types. An event names ids only: never a secret, a token, a
// code, or what a person typed as a username or password.
const (
	AuditMerchantCreated     = "merchant.created"
	AuditMerchantDeleted     = "merchant.deleted"
	AuditOrganizationCreated = "organization.created"
	AuditOrganizationDeleted = "organization.deleted"
	AuditAccountCreated      = "account.created"
	AuditAccountDeleted      = "account.deleted"
	AuditAccountPasswordSet  = "account.password_set"
	AuditAccountDisabled     = "account.disabled"
	AuditAccountEnabled      = "account.enabled"
	AuditClientCreated       = "client.created"
	AuditClientDeleted       = "client.deleted"
	AuditClientSecretRotated = "client.secret_rotated"

	// A legacy (imported) password hash re-hashed to Argon2id on a login.
	AuditAccountPasswordUpgraded = "account.password_upgraded"

	AuditLoginSucceeded   = "login.succeeded"
	AuditLoginFailed      = "login.failed"
	AuditThrottleTripped  = "throttle.tripped"
	AuditRefreshReused    = "refresh.reused"
	AuditCodeReplayed     = "code.replayed"
	AuditTokenRevoked     = "token.revoked"
	AuditConsentGiven     = "consent.given"
	AuditConsentWithdrawn = "consent.withdrawn"
	AuditTokenIssued      = "token.issued"
	auditEventIDPrefix    = "ev_"
	auditFailureLogPeriod = 10 * time.Second
)

type actorCtxKey struct{}

// WithActor returns ctx naming who makes the changes done under it, for
// their audit events: "cli" for the command line, "client:<id>" for a
// client of the admin API.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorCtxKey{}, actor)
}

// ActorFrom returns the actor in ctx, or "" when none was set.
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorCtxKey{}).(string)
	return a
}

// auditor appends audit events. A failed append is logged (at most once
// per auditFailureLogPeriod, with a count) and never fails the request
// that caused it: the change or the answer stands without its event.
type auditor struct {
	log      storage.AuditLog // nil: events are dropped
	logger   *slog.Logger
	failures logevery.Limiter
}

// record fills in what ev leaves empty (id, time, actor, source, request
// id) from ctx and appends it, durable when it returns. It is not stopped
// by ctx's cancellation: a security event outlives a caller that went away.
func (a *auditor) record(ctx context.Context, ev storage.AuditEvent) {
	if a.log == nil {
		return
	}
	if ev.ID == "" {
		ev.ID = secrets.SortableID(auditEventIDPrefix)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if ev.Actor == "" {
		ev.Actor = ActorFrom(ctx)
	}
	if ev.Source == "" {
		ev.Source = SourceFrom(ctx)
	}
	if ev.RequestID == "" {
		ev.RequestID = reqid.From(ctx)
	}
	if err := a.log.AppendAuditEvents(context.WithoutCancel(ctx), ev); err != nil {
		a.noteFailure(ctx, ev.Type, err)
	}
}

func (a *auditor) noteFailure(ctx context.Context, typ string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	n, _, ok := a.failures.Note(time.Now(), auditFailureLogPeriod)
	if !ok {
		return
	}
	logger := a.logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelError, "audit events lost: could not store them", slog.String("type", typ),
		slog.Any("err", err), slog.Int("failures", n))
}

// audit records a security event of the core.
func (s *Server) audit(ctx context.Context, ev storage.AuditEvent) { s.audits.record(ctx, ev) }

// throttleAuditEvery bounds throttle.tripped events: one per check, client
// and source per node in this time, however many answers are refused, so
// a flood of refused guesses costs no write each.
const throttleAuditEvery = time.Minute

// throttleAudits says until when each check, client and source has had
// its throttle.tripped event recorded.
type throttleAudits struct {
	mu sync.Mutex
	m  map[[3]string]time.Time
}

// first reports whether key has no event recorded since throttleAuditEvery.
func (t *throttleAudits) first(key [3]string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until, ok := t.m[key]; ok && now.Before(until) {
		return false
	}
	if t.m == nil || len(t.m) >= maxCached {
		t.m = map[[3]string]time.Time{}
	}
	t.m[key] = now.Add(throttleAuditEvery)
	return true
}

// auditThrottled records that check ("login", "client_secret",
// "user_code") answered 429 to source, when oerr is such an answer.
func (s *Server) auditThrottled(ctx context.Context, oerr *Error, check string, c storage.Client, source string) {
	if oerr == nil || oerr.Status != http.StatusTooManyRequests {
		return
	}
	if !s.throttleAudits.first([3]string{check, c.ID, source}, time.Now()) {
		return
	}
	s.audit(ctx, storage.AuditEvent{Type: AuditThrottleTripped, ClientID: c.ID, MerchantID: c.MerchantID, OrganizationID: c.OrganizationID, Source: source,
		Detail: map[string]string{"check": check, "retry_after_seconds": strconv.FormatInt(secondsCeil(oerr.RetryAfter), 10)}})
}

// audit records a change made through the Directory.
func (d *Directory) audit(ctx context.Context, ev storage.AuditEvent) { d.audits.record(ctx, ev) }

// Record appends ev as the Directory appends its own events: id, time,
// actor, source and request id come from ctx when ev leaves them empty,
// and a failed append is logged, never returned. It is for changes made
// beside the Directory (the admin API's key rotation).
func (d *Directory) Record(ctx context.Context, ev storage.AuditEvent) { d.audit(ctx, ev) }

func subject(kind, id string) string { return kind + ":" + id }

// ownerTenant names in ev the tenant owner belongs to, over what ev names
// already (the client's binding): a merchant or an organization itself, or
// the merchant of a guest (guestMerchant, the guest account's). Every event
// about whom a token or a consent acts for names it so, for the tenant's
// admins to see it.
func ownerTenant(ev *storage.AuditEvent, owner storage.ResourceOwner, guestMerchant string) {
	switch owner.Type {
	case storage.OwnerMerchant:
		ev.MerchantID = owner.ID
	case storage.OwnerOrganization:
		ev.OrganizationID = owner.ID
	case storage.OwnerGuest:
		ev.MerchantID = cmp.Or(guestMerchant, ev.MerchantID)
	}
}

// AuditEventJSON is an audit event as latchkey shows it outside the
// database: the admin API's audit-events and `latchkey audit export`. It
// names ids only, never a secret.
type AuditEventJSON struct {
	ID             string            `json:"id"`
	Time           string            `json:"time"` // RFC 3339, UTC
	Type           string            `json:"type"`
	Actor          string            `json:"actor,omitempty"`
	Subject        string            `json:"subject,omitempty"`
	ClientID       string            `json:"client_id,omitempty"`
	MerchantID     string            `json:"merchant_id,omitempty"`
	OrganizationID string            `json:"organization_id,omitempty"`
	Source         string            `json:"source,omitempty"`
	RequestID      string            `json:"request_id,omitempty"`
	Detail         map[string]string `json:"detail"` // {} when empty
}

// AuditEventAsJSON is e in its JSON form.
func AuditEventAsJSON(e storage.AuditEvent) AuditEventJSON {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return AuditEventJSON{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Type: e.Type, Actor: e.Actor,
		Subject: e.Subject, ClientID: e.ClientID, MerchantID: e.MerchantID, OrganizationID: e.OrganizationID,
		Source: e.Source, RequestID: e.RequestID, Detail: detail}
}

// issuedEvent is the token.issued event of the tokens in set, minted for
// g at now; nil when the server records none (Config.NoTokenIssuedEvents).
// It names the grant, the scopes and whom the tokens act for, never a
// token: the family is shown as the logs show it (familyLabel).
func (s *Server) issuedEvent(ctx context.Context, g grant, family string, set storage.TokenSet, now time.Time) *storage.AuditEvent {
	if s.noIssuedEvents {
		return nil
	}
	ev := &storage.AuditEvent{ID: secrets.SortableID(auditEventIDPrefix), Time: now.UTC(), Type: AuditTokenIssued,
		Actor: ActorFrom(ctx), Source: SourceFrom(ctx), RequestID: reqid.From(ctx), ClientID: g.client.ID,
		MerchantID: g.client.MerchantID, OrganizationID: g.client.OrganizationID,
		Detail: map[string]string{"grant_type": g.typ, "owner": string(g.owner.Type) + ":" + g.owner.ID,
			"scope": strings.Join(g.scopes, " "), "refresh_token": strconv.FormatBool(set.Refresh != nil)}}
	guestMerchant := ""
	if g.account != nil {
		ev.Subject = subject("account", g.account.ID)
		guestMerchant = g.account.MerchantID
	}
	ownerTenant(ev, g.owner, guestMerchant)
	if family != "" {
		ev.Detail["family"] = familyLabel(family)
	}
	return ev
}
