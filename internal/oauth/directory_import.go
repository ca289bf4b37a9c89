package oauth

import "github.com/latchkey-dev/latchkey/internal/storage"

// The rules `latchkey import` applies to the records it reads: the
// Directory's, and ids always given, so that running an import again
// finds each record by id and skips or replaces it instead of creating it
// twice. The importer stores in bulk (storage.Importer) rather than
// through the Directory's one write per record.

// AuditImported is the event of one `latchkey import` run that wrote:
// its kind, file and counts (Detail). The records it stored have no event
// each; a million would bury the log.
const AuditImported = "directory.imported"

// CheckImportedAccount applies CheckAccount's rules to an imported account,
// which must carry its id.
func CheckImportedAccount(a storage.Account) error {
	if a.ID == "" {
		return rejectf("--id is required: an import is matched by id, so that running it again skips or updates " +
			"the account instead of creating it twice")
	}
	return CheckAccount(a)
}

// PrepareImportedClient checks an imported client as CreateClient does and
// returns it as CreateClient would store it (grant aliases resolved, its
// dialect's defaults, PKCE for a public one), with secretHash, the keyed
// hash of its existing secret ("" for a public client). Its id must be
// given: deployed integrations keep using it.
func PrepareImportedClient(c storage.Client, o ClientChoices, dialects map[string]ClientDefaults, secretHash string) (storage.Client, error) {
	if c.ID == "" {
		return storage.Client{}, rejectf("--id is required: an imported client keeps the id its integrations use")
	}
	if err := CheckClient(c, o, dialects); err != nil {
		return storage.Client{}, err
	}
	c = prepareClient(c, o, dialects)
	c.SecretHash = secretHash
	return c, nil
}
