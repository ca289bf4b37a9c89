// Package traced wraps a storage.Storage so that every call is a span,
// "storage.<Method>", a child of the caller's span. The server applies it
// only when tracing is on, so with tracing off the store is called directly
// and costs nothing more. The methods are plain delegation.
package traced

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/tracing"
)

// Store is a storage.Storage whose calls are traced, each passed on to the
// embedded store. Embedding it keeps a method added to storage.Storage
// compiling, untraced until it is added here (TestEveryMethodIsTraced says so).
type Store struct {
	storage.Storage
	tracer trace.Tracer
}

// New wraps st; with tracing off (tracing.Enabled false) it returns st itself.
func New(st storage.Storage, tp trace.TracerProvider) storage.Storage {
	tr := tracing.Tracer(tp, "internal/storage")
	if tr == nil {
		return st
	}
	return &Store{Storage: st, tracer: tr}
}

// start begins a client-kind span: the database is a remote service to the
// request even when it is embedded.
func (s *Store) start(ctx context.Context, name string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
}

// Close is not traced: it happens once, at shutdown.
func (s *Store) Close() error { return s.Storage.Close() }

func (s *Store) AppendAuditEvents(ctx context.Context, a1 ...storage.AuditEvent) (err error) {
	ctx, span := s.start(ctx, "storage.AppendAuditEvents")
	defer func() { tracing.End(span, err) }()
	return s.Storage.AppendAuditEvents(ctx, a1...)
}

func (s *Store) CountFailure(ctx context.Context, a1 time.Time, a2 ...storage.ThrottleKey) (_ storage.Failures, err error) {
	ctx, span := s.start(ctx, "storage.CountFailure")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CountFailure(ctx, a1, a2...)
}

func (s *Store) CountPasswordSchemes(ctx context.Context) (_ map[string]int64, err error) {
	ctx, span := s.start(ctx, "storage.CountPasswordSchemes")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CountPasswordSchemes(ctx)
}

func (s *Store) CreateAccount(ctx context.Context, a1 storage.Account) (err error) {
	ctx, span := s.start(ctx, "storage.CreateAccount")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateAccount(ctx, a1)
}

func (s *Store) CreateAuthCode(ctx context.Context, a1 storage.AuthCode) (err error) {
	ctx, span := s.start(ctx, "storage.CreateAuthCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateAuthCode(ctx, a1)
}

func (s *Store) CreateClient(ctx context.Context, a1 storage.Client) (err error) {
	ctx, span := s.start(ctx, "storage.CreateClient")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateClient(ctx, a1)
}

func (s *Store) CreateDeviceCode(ctx context.Context, a1 storage.DeviceCode) (err error) {
	ctx, span := s.start(ctx, "storage.CreateDeviceCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateDeviceCode(ctx, a1)
}

func (s *Store) CreateMerchant(ctx context.Context, a1 storage.Merchant) (err error) {
	ctx, span := s.start(ctx, "storage.CreateMerchant")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateMerchant(ctx, a1)
}

func (s *Store) CreateOrganization(ctx context.Context, a1 storage.Organization) (err error) {
	ctx, span := s.start(ctx, "storage.CreateOrganization")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateOrganization(ctx, a1)
}

func (s *Store) CreateSession(ctx context.Context, a1 storage.Session) (err error) {
	ctx, span := s.start(ctx, "storage.CreateSession")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateSession(ctx, a1)
}

func (s *Store) CreateSigningKey(ctx context.Context, a1 storage.SigningKey) (err error) {
	ctx, span := s.start(ctx, "storage.CreateSigningKey")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateSigningKey(ctx, a1)
}

func (s *Store) CreateTokens(ctx context.Context, a1 storage.TokenSet) (err error) {
	ctx, span := s.start(ctx, "storage.CreateTokens")
	defer func() { tracing.End(span, err) }()
	return s.Storage.CreateTokens(ctx, a1)
}

func (s *Store) DecideDeviceCode(ctx context.Context, a1 string, a2 storage.DeviceDecision) (err error) {
	ctx, span := s.start(ctx, "storage.DecideDeviceCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DecideDeviceCode(ctx, a1, a2)
}

func (s *Store) DeleteAccount(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteAccount")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteAccount(ctx, a1)
}

func (s *Store) DeleteAuditEventsBefore(ctx context.Context, a1 time.Time) (_ int64, err error) {
	ctx, span := s.start(ctx, "storage.DeleteAuditEventsBefore")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteAuditEventsBefore(ctx, a1)
}

func (s *Store) DeleteClient(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteClient")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteClient(ctx, a1)
}

func (s *Store) DeleteConsent(ctx context.Context, a1 string, a2 string, a3 storage.ResourceOwner) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteConsent")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteConsent(ctx, a1, a2, a3)
}

func (s *Store) DeleteExpired(ctx context.Context, a1 time.Time) (_ int64, err error) {
	ctx, span := s.start(ctx, "storage.DeleteExpired")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteExpired(ctx, a1)
}

func (s *Store) DeleteMerchant(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteMerchant")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteMerchant(ctx, a1)
}

func (s *Store) DeleteOrganization(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteOrganization")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteOrganization(ctx, a1)
}

func (s *Store) DeleteSession(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteSession")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteSession(ctx, a1)
}

func (s *Store) DeleteSigningKey(ctx context.Context, a1 string) (err error) {
	ctx, span := s.start(ctx, "storage.DeleteSigningKey")
	defer func() { tracing.End(span, err) }()
	return s.Storage.DeleteSigningKey(ctx, a1)
}

func (s *Store) Failures(ctx context.Context, a1 time.Time, a2 ...string) (_ []storage.Failures, err error) {
	ctx, span := s.start(ctx, "storage.Failures")
	defer func() { tracing.End(span, err) }()
	return s.Storage.Failures(ctx, a1, a2...)
}

func (s *Store) ForgetFailures(ctx context.Context, a1 ...string) (err error) {
	ctx, span := s.start(ctx, "storage.ForgetFailures")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ForgetFailures(ctx, a1...)
}

func (s *Store) GetAccessToken(ctx context.Context, a1 string) (_ storage.AccessToken, err error) {
	ctx, span := s.start(ctx, "storage.GetAccessToken")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetAccessToken(ctx, a1)
}

func (s *Store) GetAccount(ctx context.Context, a1 string) (_ storage.Account, err error) {
	ctx, span := s.start(ctx, "storage.GetAccount")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetAccount(ctx, a1)
}

func (s *Store) GetAccountByUsername(ctx context.Context, a1 storage.AccountKind, a2 string, a3 string) (_ storage.Account, err error) {
	ctx, span := s.start(ctx, "storage.GetAccountByUsername")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetAccountByUsername(ctx, a1, a2, a3)
}

func (s *Store) GetAuthCode(ctx context.Context, a1 string) (_ storage.AuthCode, err error) {
	ctx, span := s.start(ctx, "storage.GetAuthCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetAuthCode(ctx, a1)
}

func (s *Store) GetAuthCodeGrant(ctx context.Context, a1 string) (_ storage.AuthCode, _ *storage.Account, err error) {
	ctx, span := s.start(ctx, "storage.GetAuthCodeGrant")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetAuthCodeGrant(ctx, a1)
}

func (s *Store) GetClient(ctx context.Context, a1 string) (_ storage.Client, err error) {
	ctx, span := s.start(ctx, "storage.GetClient")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetClient(ctx, a1)
}

func (s *Store) GetConsent(ctx context.Context, a1 string, a2 string, a3 storage.ResourceOwner) (_ storage.Consent, err error) {
	ctx, span := s.start(ctx, "storage.GetConsent")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetConsent(ctx, a1, a2, a3)
}

func (s *Store) GetDeviceCode(ctx context.Context, a1 string) (_ storage.DeviceCode, err error) {
	ctx, span := s.start(ctx, "storage.GetDeviceCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetDeviceCode(ctx, a1)
}

func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, a1 string) (_ storage.DeviceCode, err error) {
	ctx, span := s.start(ctx, "storage.GetDeviceCodeByUserCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetDeviceCodeByUserCode(ctx, a1)
}

func (s *Store) GetMerchant(ctx context.Context, a1 string) (_ storage.Merchant, err error) {
	ctx, span := s.start(ctx, "storage.GetMerchant")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetMerchant(ctx, a1)
}

func (s *Store) GetOrganization(ctx context.Context, a1 string) (_ storage.Organization, err error) {
	ctx, span := s.start(ctx, "storage.GetOrganization")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetOrganization(ctx, a1)
}

func (s *Store) GetRefreshToken(ctx context.Context, a1 string) (_ storage.RefreshToken, err error) {
	ctx, span := s.start(ctx, "storage.GetRefreshToken")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetRefreshToken(ctx, a1)
}

func (s *Store) GetRefreshGrant(ctx context.Context, a1 string) (_ storage.RefreshToken, _ *storage.Account, err error) {
	ctx, span := s.start(ctx, "storage.GetRefreshGrant")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetRefreshGrant(ctx, a1)
}

func (s *Store) GetSession(ctx context.Context, a1 string) (_ storage.Session, err error) {
	ctx, span := s.start(ctx, "storage.GetSession")
	defer func() { tracing.End(span, err) }()
	return s.Storage.GetSession(ctx, a1)
}

func (s *Store) ListAccounts(ctx context.Context, a1 storage.AccountFilter) (_ []storage.Account, err error) {
	ctx, span := s.start(ctx, "storage.ListAccounts")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListAccounts(ctx, a1)
}

func (s *Store) ListAuditEvents(ctx context.Context, a1 storage.AuditFilter) (_ []storage.AuditEvent, err error) {
	ctx, span := s.start(ctx, "storage.ListAuditEvents")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListAuditEvents(ctx, a1)
}

func (s *Store) ListClients(ctx context.Context) (_ []storage.Client, err error) {
	ctx, span := s.start(ctx, "storage.ListClients")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListClients(ctx)
}

func (s *Store) ListConsents(ctx context.Context, a1 string) (_ []storage.Consent, err error) {
	ctx, span := s.start(ctx, "storage.ListConsents")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListConsents(ctx, a1)
}

func (s *Store) ListMerchants(ctx context.Context) (_ []storage.Merchant, err error) {
	ctx, span := s.start(ctx, "storage.ListMerchants")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListMerchants(ctx)
}

func (s *Store) ListOrganizations(ctx context.Context) (_ []storage.Organization, err error) {
	ctx, span := s.start(ctx, "storage.ListOrganizations")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListOrganizations(ctx)
}

func (s *Store) ListSigningKeys(ctx context.Context) (_ []storage.SigningKey, err error) {
	ctx, span := s.start(ctx, "storage.ListSigningKeys")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ListSigningKeys(ctx)
}

func (s *Store) Ping(ctx context.Context) (err error) {
	ctx, span := s.start(ctx, "storage.Ping")
	defer func() { tracing.End(span, err) }()
	return s.Storage.Ping(ctx)
}

func (s *Store) PollDeviceCode(ctx context.Context, a1 string, a2 time.Time, a3 time.Duration) (_ storage.DevicePoll, err error) {
	ctx, span := s.start(ctx, "storage.PollDeviceCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.PollDeviceCode(ctx, a1, a2, a3)
}

func (s *Store) RedeemAuthCode(ctx context.Context, a1 string, a2 time.Time, a3 storage.TokenSet) (err error) {
	ctx, span := s.start(ctx, "storage.RedeemAuthCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RedeemAuthCode(ctx, a1, a2, a3)
}

func (s *Store) RedeemDeviceCode(ctx context.Context, a1 string, a2 time.Time, a3 storage.TokenSet) (err error) {
	ctx, span := s.start(ctx, "storage.RedeemDeviceCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RedeemDeviceCode(ctx, a1, a2, a3)
}

func (s *Store) RevokeAccessToken(ctx context.Context, a1 string, a2 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.RevokeAccessToken")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeAccessToken(ctx, a1, a2)
}

func (s *Store) RevokeAccountTokens(ctx context.Context, a1 string, a2 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.RevokeAccountTokens")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeAccountTokens(ctx, a1, a2)
}

func (s *Store) RevokeClientTokens(ctx context.Context, a1 string, a2 time.Time) (_ int64, err error) {
	ctx, span := s.start(ctx, "storage.RevokeClientTokens")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeClientTokens(ctx, a1, a2)
}

func (s *Store) RevokeGrantTokens(ctx context.Context, a1, a2 string, a3 time.Time) (_ int64, err error) {
	ctx, span := s.start(ctx, "storage.RevokeGrantTokens")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeGrantTokens(ctx, a1, a2, a3)
}

func (s *Store) RevokeFamily(ctx context.Context, a1 string, a2 time.Time, a3 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.RevokeFamily")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeFamily(ctx, a1, a2, a3)
}

func (s *Store) RevokeOwnerTokens(ctx context.Context, a1 storage.ResourceOwner, a2 time.Time) (_ int64, err error) {
	ctx, span := s.start(ctx, "storage.RevokeOwnerTokens")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeOwnerTokens(ctx, a1, a2)
}

func (s *Store) RevokeRefreshToken(ctx context.Context, a1 string, a2 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.RevokeRefreshToken")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RevokeRefreshToken(ctx, a1, a2)
}

func (s *Store) RotateRefreshToken(ctx context.Context, a1 storage.Rotation) (_ storage.RotationResult, err error) {
	ctx, span := s.start(ctx, "storage.RotateRefreshToken")
	defer func() { tracing.End(span, err) }()
	return s.Storage.RotateRefreshToken(ctx, a1)
}

func (s *Store) SaveConsent(ctx context.Context, a1 storage.Consent) (err error) {
	ctx, span := s.start(ctx, "storage.SaveConsent")
	defer func() { tracing.End(span, err) }()
	return s.Storage.SaveConsent(ctx, a1)
}

func (s *Store) SetAccountDisabled(ctx context.Context, a1 string, a2 bool, a3 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.SetAccountDisabled")
	defer func() { tracing.End(span, err) }()
	return s.Storage.SetAccountDisabled(ctx, a1, a2, a3)
}

func (s *Store) SetAccountPassword(ctx context.Context, a1 string, a2 string, a3 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.SetAccountPassword")
	defer func() { tracing.End(span, err) }()
	return s.Storage.SetAccountPassword(ctx, a1, a2, a3)
}

func (s *Store) SpendAuthCode(ctx context.Context, a1 string, a2 time.Time) (err error) {
	ctx, span := s.start(ctx, "storage.SpendAuthCode")
	defer func() { tracing.End(span, err) }()
	return s.Storage.SpendAuthCode(ctx, a1, a2)
}

func (s *Store) UpdateAccount(ctx context.Context, a1 string, a2 func(storage.Account) (storage.Account, error)) (err error) {
	ctx, span := s.start(ctx, "storage.UpdateAccount")
	defer func() { tracing.End(span, err) }()
	return s.Storage.UpdateAccount(ctx, a1, a2)
}

func (s *Store) UpdateClient(ctx context.Context, a1 string, a2 func(storage.Client) (storage.Client, error)) (err error) {
	ctx, span := s.start(ctx, "storage.UpdateClient")
	defer func() { tracing.End(span, err) }()
	return s.Storage.UpdateClient(ctx, a1, a2)
}

func (s *Store) UpdateSigningKey(ctx context.Context, a1 string, a2 func(storage.SigningKey) (storage.SigningKey, error)) (err error) {
	ctx, span := s.start(ctx, "storage.UpdateSigningKey")
	defer func() { tracing.End(span, err) }()
	return s.Storage.UpdateSigningKey(ctx, a1, a2)
}

func (s *Store) ImportOrganizations(ctx context.Context, a1 []storage.Organization, a2 storage.ImportOptions) (_ storage.ImportResult, err error) {
	ctx, span := s.start(ctx, "storage.ImportOrganizations")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ImportOrganizations(ctx, a1, a2)
}

func (s *Store) ImportMerchants(ctx context.Context, a1 []storage.Merchant, a2 storage.ImportOptions) (_ storage.ImportResult, err error) {
	ctx, span := s.start(ctx, "storage.ImportMerchants")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ImportMerchants(ctx, a1, a2)
}

func (s *Store) ImportAccounts(ctx context.Context, a1 []storage.Account, a2 storage.ImportOptions) (_ storage.ImportResult, err error) {
	ctx, span := s.start(ctx, "storage.ImportAccounts")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ImportAccounts(ctx, a1, a2)
}

func (s *Store) ImportClients(ctx context.Context, a1 []storage.Client, a2 storage.ImportOptions) (_ storage.ImportResult, err error) {
	ctx, span := s.start(ctx, "storage.ImportClients")
	defer func() { tracing.End(span, err) }()
	return s.Storage.ImportClients(ctx, a1, a2)
}
