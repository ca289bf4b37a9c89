package web

import (
	"net/http"
	"strings"
)

// Languages the pages come in; the first is the fallback.
var languages = []string{"en", "fr"}

// catalogs hold every string a page shows, per language.
var catalogs = map[string]map[string]string{
	"en": {
		"login.title":                        "Sign in",
		"login.lead":                         "to continue to %s",
		"login.lead.guest":                   "with your %s account to continue to %s",
		"login.username":                     "Username",
		"login.password":                     "Password",
		"login.submit":                       "Sign in",
		"login.failed":                       "The username or password is incorrect.",
		"login.throttled":                    "Too many failed attempts. Please wait a few minutes and try again.",
		"login.busy":                         "We are very busy right now. Please try again in a moment.",
		"login.missing":                      "Enter your username and password.",
		"picker.title":                       "Choose an account",
		"picker.lead":                        "Which business should %s act for?",
		"picker.merchant":                    "Merchant",
		"picker.organization":                "Organization",
		"picker.submit":                      "Continue",
		"picker.missing":                     "Choose one of the businesses below.",
		"consent.title":                      "Allow access?",
		"consent.lead":                       "%s wants to access %s.",
		"consent.scopes":                     "It will be able to:",
		"consent.signedin":                   "Signed in as %s.",
		"consent.allow":                      "Allow",
		"consent.deny":                       "Deny",
		"consent.noscopes":                   "Confirm your identity only.",
		"consent.changed":                    "The consent form was changed after it was shown, so nothing was granted.",
		"device.title":                       "Connect a device",
		"device.lead":                        "Enter the code shown on your device.",
		"device.code":                        "Code",
		"device.hint":                        "8 letters, for example BCDF-GHJK. Upper or lower case, with or without the dash.",
		"device.submit":                      "Continue",
		"device.invalid":                     "This code is not valid: it may be mistyped, expired or already used. Check the code on your device.",
		"device.throttled":                   "Too many wrong codes. Please wait a few minutes and try again.",
		"device.done.title":                  "Device connected",
		"device.done":                        "Device connected — you can return to your device.",
		"device.denied.title":                "Request denied",
		"device.denied":                      "Request denied — the device was not connected.",
		"device.failed.title":                "Device not connected",
		"device.noowner":                     "Your account has no merchant or organization this device may act for, so the device was not connected.",
		"consent.device":                     "Only continue if this code is shown on your device: %s",
		"error.title":                        "Something is not right",
		"error.lead":                         "The application sent you here with a request we cannot accept:",
		"error.back":                         "Go back to the application and try again, or contact its support.",
		"error.expired":                      "This form has expired. Please try again.",
		"logout.title":                       "Sign out",
		"logout.lead":                        "Sign out of all applications on this browser?",
		"logout.submit":                      "Sign out",
		"logout.done":                        "You are signed out.",
		"logout.account":                     "Signed in as %s.",
		"footer.secured":                     "Secured by %s",
		"scope.user_read":                    "See your profile",
		"scope.user_write":                   "Update your profile",
		"scope.account_read":                 "See your loyalty account and balances",
		"scope.account_write":                "Make changes to your loyalty account",
		"scope.merchant":                     "Act for the merchant on the point-of-sale API",
		"scope.customer":                     "Act for a customer at the till",
		"scope.posapi":                       "Use the point-of-sale API",
		"scope.aston-api:transaction.read":   "See transactions",
		"scope.aston-api:transaction.submit": "Submit transactions",
		"scope.openid":                       "Confirm who you are",
		"scope.profile":                      "Your username",
		"scope.email":                        "Your e-mail address",
		"callback.title":                     "Authorization code received",
		"callback.lead":                      "The authorization server sent the browser back to %s with this code. It can be redeemed once, within %d minutes.",
		"callback.exchange":                  "Redeem it at the token endpoint:",
		"callback.verifier":                  "The command sends the code_verifier that latchkey serve --demo printed. If you started with a code_challenge of your own, put its verifier instead.",
		"callback.failed.title":              "Authorization failed",
		"callback.failed.lead":               "The authorization server sent the browser back with an error instead of a code:",
		"callback.empty.title":               "No authorization response",
		"callback.empty.lead":                "This is the redirect URI of the demo client %s: after sign-in, the authorization server sends the browser here with a code or an error. Start from the authorization URL that latchkey serve --demo printed.",
	},
	"fr": {
		"login.title":                        "Connexion",
		"login.lead":                         "pour continuer vers %s",
		"login.lead.guest":                   "avec votre compte %s pour continuer vers %s",
		"login.username":                     "Nom d’utilisateur",
		"login.password":                     "Mot de passe",
		"login.submit":                       "Se connecter",
		"login.failed":                       "Le nom d’utilisateur ou le mot de passe est incorrect.",
		"login.throttled":                    "Trop de tentatives infructueuses. Veuillez patienter quelques minutes avant de réessayer.",
		"login.busy":                         "Le service est très sollicité. Veuillez réessayer dans un instant.",
		"login.missing":                      "Saisissez votre nom d’utilisateur et votre mot de passe.",
		"picker.title":                       "Choisissez un compte",
		"picker.lead":                        "Pour quelle entreprise %s doit-elle agir ?",
		"picker.merchant":                    "Commerçant",
		"picker.organization":                "Organisation",
		"picker.submit":                      "Continuer",
		"picker.missing":                     "Choisissez l’une des entreprises ci-dessous.",
		"consent.title":                      "Autoriser l’accès ?",
		"consent.lead":                       "%s souhaite accéder à %s.",
		"consent.scopes":                     "L’application pourra :",
		"consent.signedin":                   "Connecté en tant que %s.",
		"consent.allow":                      "Autoriser",
		"consent.deny":                       "Refuser",
		"consent.noscopes":                   "Confirmer uniquement votre identité.",
		"consent.changed":                    "Le formulaire d’autorisation a été modifié après son affichage ; rien n’a été autorisé.",
		"device.title":                       "Connecter un appareil",
		"device.lead":                        "Saisissez le code affiché sur votre appareil.",
		"device.code":                        "Code",
		"device.hint":                        "8 lettres, par exemple BCDF-GHJK. Majuscules ou minuscules, avec ou sans le tiret.",
		"device.submit":                      "Continuer",
		"device.invalid":                     "Ce code n’est pas valide : il est peut-être mal saisi, expiré ou déjà utilisé. Vérifiez le code sur votre appareil.",
		"device.throttled":                   "Trop de codes erronés. Veuillez patienter quelques minutes avant de réessayer.",
		"device.done.title":                  "Appareil connecté",
		"device.done":                        "Appareil connecté — vous pouvez revenir à votre appareil.",
		"device.denied.title":                "Demande refusée",
		"device.denied":                      "Demande refusée — l’appareil n’a pas été connecté.",
		"device.failed.title":                "Appareil non connecté",
		"device.noowner":                     "Votre compte n’a aucun commerçant ni aucune organisation pour lesquels cet appareil peut agir ; l’appareil n’a pas été connecté.",
		"consent.device":                     "Ne continuez que si ce code est affiché sur votre appareil : %s",
		"error.title":                        "Un problème est survenu",
		"error.lead":                         "L’application vous a envoyé ici avec une demande que nous ne pouvons pas accepter :",
		"error.back":                         "Revenez à l’application et réessayez, ou contactez son assistance.",
		"error.expired":                      "Ce formulaire a expiré. Veuillez réessayer.",
		"logout.title":                       "Déconnexion",
		"logout.lead":                        "Vous déconnecter de toutes les applications sur ce navigateur ?",
		"logout.submit":                      "Se déconnecter",
		"logout.done":                        "Vous êtes déconnecté.",
		"logout.account":                     "Connecté en tant que %s.",
		"footer.secured":                     "Sécurisé par %s",
		"scope.user_read":                    "Consulter votre profil",
		"scope.user_write":                   "Modifier votre profil",
		"scope.account_read":                 "Consulter votre compte de fidélité et vos soldes",
		"scope.account_write":                "Modifier votre compte de fidélité",
		"scope.merchant":                     "Agir pour le commerçant sur l’API de point de vente",
		"scope.customer":                     "Agir pour un client à la caisse",
		"scope.posapi":                       "Utiliser l’API de point de vente",
		"scope.aston-api:transaction.read":   "Consulter les transactions",
		"scope.aston-api:transaction.submit": "Soumettre des transactions",
		"scope.openid":                       "Confirmer votre identité",
		"scope.profile":                      "Votre nom d’utilisateur",
		"scope.email":                        "Votre adresse e-mail",
		"callback.title":                     "Code d’autorisation reçu",
		"callback.lead":                      "Le serveur d’autorisation a renvoyé le navigateur vers %s avec ce code. Il s’échange une seule fois, dans les %d minutes.",
		"callback.exchange":                  "Échangez-le au point de terminaison de jeton :",
		"callback.verifier":                  "La commande envoie le code_verifier affiché par latchkey serve --demo. Si vous êtes parti de votre propre code_challenge, mettez son vérificateur à la place.",
		"callback.failed.title":              "L’autorisation a échoué",
		"callback.failed.lead":               "Le serveur d’autorisation a renvoyé le navigateur avec une erreur au lieu d’un code :",
		"callback.empty.title":               "Aucune réponse d’autorisation",
		"callback.empty.lead":                "Ceci est l’URI de redirection du client de démonstration %s : après la connexion, le serveur d’autorisation y renvoie le navigateur avec un code ou une erreur. Partez de l’URL d’autorisation affichée par latchkey serve --demo.",
	},
}

// pickLanguage chooses the page language: ui_locales, then lang, then
// Accept-Language, then English.
func pickLanguage(r *http.Request, uiLocales, lang string) string {
	var wanted []string
	wanted = append(wanted, strings.Fields(uiLocales)...)
	wanted = append(wanted, lang)
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		wanted = append(wanted, tag)
	}
	for _, w := range wanted {
		base, _, _ := strings.Cut(strings.ToLower(w), "-")
		for _, l := range languages {
			if base == l {
				return l
			}
		}
	}
	return languages[0]
}

// translator returns the message for key in lang, falling back to English, then to fallback.
func translate(lang, key, fallback string) string {
	if s, ok := catalogs[lang][key]; ok {
		return s
	}
	if s, ok := catalogs[languages[0]][key]; ok {
		return s
	}
	return fallback
}
