/*
 * headers.c - the one table of mapped Internet header fields (headers.h),
 * and the value tables that go both ways with it (Content-Language tags).
 *
 * Columns: name, property tag, reader kind, writer kind, param, flags, the
 * properties a file write may change, and the MS-OXCMAIL sections as
 * "reader / writer" ("-": none known; oxcmail-mapping.md 1.2 then says
 * which implementation the rule follows: G gromox, K Kopano).
 */
#include <string.h>

#include "headers.h"

#define E(...) { __VA_ARGS__, 0 }
#define NONE { 0 }

const header_row header_table[] = {
	/* ---- written from properties, in the writer's order (G order, oxcmail-mapping.md 5) */
	{ "Sender", 0, HI_SENDER, HX_SENDER, 0, HF_NO_TWIN,
	  E(TAG_SENDER_NAME, TAG_SENDER_EMAIL_ADDRESS, TAG_SENDER_SMTP_ADDRESS), "- / -" },
	{ "From", 0, HI_FROM, HX_FROM, 0, HF_NO_TWIN,
	  E(TAG_SENT_REPRESENTING_NAME, TAG_SENT_REPRESENTING_EMAIL_ADDRESS,
	    TAG_SENT_REPRESENTING_SMTP_ADDRESS), "From section / -" },
	{ "Return-Receipt-To", TAG_ORIGINATOR_DELIVERY_REPORT_REQUESTED, HI_RETURN_RECEIPT,
	  HX_RETURN_RECEIPT, 0, HF_NO_TWIN, E(TAG_ORIGINATOR_DELIVERY_REPORT_REQUESTED), "- / 2.1.3.1.5" },
	{ "Disposition-Notification-To", TAG_READ_RECEIPT_REQUESTED, HI_NOTIFICATION, HX_NOTIFICATION,
	  0, HF_NO_TWIN,
	  { TAG_READ_RECEIPT_REQUESTED, TAG_READ_RECEIPT_NAME, TAG_READ_RECEIPT_EMAIL_ADDRESS,
	    TAG_READ_RECEIPT_SMTP_ADDRESS }, "- / 2.1.3.1.6" },
	{ "To", 0, HI_RECIPIENTS, HX_RECIPIENTS, 1, HF_NO_TWIN, NONE, "- / 2.1.3.1.1" },
	{ "Cc", 0, HI_RECIPIENTS, HX_RECIPIENTS, 2, HF_NO_TWIN, NONE, "- / 2.1.3.1.1" },
	{ "Bcc", 0, HI_RECIPIENTS, HX_RECIPIENTS, 3, HF_NO_TWIN, NONE, "- / 2.1.3.1.1" },
	{ "Reply-To", TAG_REPLY_RECIPIENT_ENTRIES, HI_REPLY_TO, HX_REPLY_TO, 0, HF_NO_TWIN,
	  E(TAG_REPLY_RECIPIENT_NAMES), "- / 2.1.3.1.2" },
	{ "Content-Class", 0, HI_CONTENT_CLASS, HX_NAMED, 0, 0, NONE, "2.2.3.2.15 / 2.1.3.2.2" },
	/* Importance wins over the other three on reading (rank 0 best) */
	{ "Importance", TAG_IMPORTANCE, HI_IMPORTANCE, HX_IMPORTANCE, 0, HF_NO_TWIN,
	  E(TAG_IMPORTANCE), "2.2.3.2.5 / -" },
	{ "X-Priority", TAG_IMPORTANCE, HI_IMPORTANCE, HX_WITH_ABOVE, 2, HF_NO_TWIN, NONE, "2.2.3.2.5 / -" },
	{ "X-MSMail-Priority", TAG_IMPORTANCE, HI_IMPORTANCE, HX_WITH_ABOVE, 3, HF_NO_TWIN, NONE,
	  "2.2.3.2.5 / -" },
	{ "Priority", TAG_PRIORITY, HI_PRIORITY, HX_PRIORITY, 1, HF_NO_TWIN, E(TAG_PRIORITY),
	  "2.2.3.2.5 / -" },
	{ "Sensitivity", TAG_SENSITIVITY, HI_SENSITIVITY, HX_SENSITIVITY, 0, HF_NO_TWIN,
	  E(TAG_SENSITIVITY), "- / 2.1.3.2.6" },
	{ "Date", TAG_CLIENT_SUBMIT_TIME, HI_DATE, HX_DATE, 0, HF_NO_TWIN, E(TAG_CLIENT_SUBMIT_TIME),
	  "- / 2.1.3.2.7" },
	{ "Subject", TAG_SUBJECT, HI_SUBJECT, HX_SUBJECT, 0, HF_NO_TWIN,
	  E(TAG_SUBJECT, TAG_SUBJECT_PREFIX, TAG_NORMALIZED_SUBJECT), "2.2.3.2.6.1 / 2.1.3.2.8" },
	{ "Thread-Topic", TAG_CONVERSATION_TOPIC, HI_TEXT_LAST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_CONVERSATION_TOPIC), "2.2.3.2.7 / -" },
	{ "Thread-Index", TAG_CONVERSATION_INDEX, HI_THREAD_INDEX, HX_THREAD_INDEX, 0, HF_NO_TWIN,
	  E(TAG_CONVERSATION_INDEX), "- / -" },
	{ "Message-ID", TAG_INTERNET_MESSAGE_ID, HI_STRING_FIRST, HX_MESSAGE_ID, 0, HF_NO_TWIN,
	  E(TAG_INTERNET_MESSAGE_ID), "- / 2.1.3.2.11" },
	{ "References", TAG_INTERNET_REFERENCES, HI_STRING_FIRST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_INTERNET_REFERENCES), "- / -" },
	{ "Keywords", 0, HI_KEYWORDS, HX_KEYWORDS, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "In-Reply-To", TAG_IN_REPLY_TO_ID, HI_STRING_FIRST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_IN_REPLY_TO_ID), "- / -" },
	{ "List-Help", TAG_LIST_HELP, HI_LIST, HX_STRING, 0, HF_NO_TWIN, E(TAG_LIST_HELP), "- / -" },
	{ "X-List-Help", TAG_LIST_HELP, HI_LIST, HX_WITH_ABOVE, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "List-Subscribe", TAG_LIST_SUBSCRIBE, HI_LIST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_LIST_SUBSCRIBE), "- / -" },
	{ "X-List-Subscribe", TAG_LIST_SUBSCRIBE, HI_LIST, HX_WITH_ABOVE, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "List-Unsubscribe", TAG_LIST_UNSUBSCRIBE, HI_LIST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_LIST_UNSUBSCRIBE), "- / -" },
	{ "X-List-Unsubscribe", TAG_LIST_UNSUBSCRIBE, HI_LIST, HX_WITH_ABOVE, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "Content-Language", TAG_MESSAGE_LOCALE_ID, HI_LANGUAGE, HX_LANGUAGE, 0, HF_NO_TWIN,
	  E(TAG_MESSAGE_LOCALE_ID), "2.2.3.2.11 / 2.1.3.2.16" },
	/* PS_INTERNET_HEADERS "Accept-Language" is written through the file system itself */
	{ "Accept-Language", 0, HI_ACCEPT_LANGUAGE, HX_NAMED, 0, 0, NONE, "- / -" },
	{ "X-Accept-Language", 0, HI_ACCEPT_LANGUAGE, HX_WITH_ABOVE, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "Precedence", TAG_INTERNET_PRECEDENCE, HI_STRING_LAST, HX_STRING, 0, HF_NO_TWIN,
	  E(TAG_INTERNET_PRECEDENCE), "- / -" },
	{ "Expires", TAG_EXPIRY_TIME, HI_TIME, HX_TIME, 0, HF_NO_TWIN, E(TAG_EXPIRY_TIME), "- / -" },
	{ "Expiry-Date", TAG_EXPIRY_TIME, HI_TIME, HX_WITH_ABOVE, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "X-Auto-Response-Suppress", TAG_AUTO_RESPONSE_SUPPRESS, HI_SUPPRESS, HX_SUPPRESS, 0,
	  HF_NO_TWIN, E(TAG_AUTO_RESPONSE_SUPPRESS), "- / -" },
	/* PidLidFlagRequest (PSETID_Common 0x8530), written through PSETID_Common/0x8530 */
	{ "X-Message-Flag", 0, HI_MESSAGE_FLAG, HX_MESSAGE_FLAG, 0, HF_NO_TWIN, NONE, "- / -" },
	{ "Reply-By", TAG_REPLY_TIME, HI_TIME, HX_TIME, 0, HF_NO_TWIN, E(TAG_REPLY_TIME), "- / -" },
	{ "X-Payload-Class", TAG_ATTACH_PAYLOAD_CLASS, HI_STRING_LAST, HX_STRING, 0, HF_NO_TWIN, NONE,
	  "- / -" },
	{ "X-Payload-Provider-GUID", TAG_ATTACH_PAYLOAD_PROVIDER_GUID, HI_STRING_LAST, HX_STRING, 0,
	  HF_NO_TWIN, NONE, "- / -" },

	/* ---- read only: the writer does not make them from a property */
	{ "Received", TAG_MESSAGE_DELIVERY_TIME, HI_RECEIVED, HX_NONE, 0, HF_NO_TWIN, NONE,
	  "2.2.3.2.29 (no twin) / -" },
	{ "Content-Type", 0, HI_CONTENT_TYPE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 (no twin) / -" },
	{ "X-Unsent", 0, HI_UNSENT, HX_NONE, 0, HF_NO_TWIN, NONE, "- / -" },
	/* the one mapped field that is otherwise generic; the writer writes its twin */
	{ "Auto-Submitted", TAG_AUTO_FORWARDED, HI_AUTO_SUBMITTED, HX_NONE, 0, HF_GENERIC,
	  E(TAG_AUTO_FORWARDED), "- / -" },
	/* of a single-part message: read from the MIME part after the header fields */
	{ "Content-Location", TAG_BODY_CONTENT_LOCATION, HI_NONE, HX_NONE, 0, 0, NONE, "- / -" },
	{ "Content-Base", 0, HI_NONE, HX_NONE, 0, 0, NONE, "- / -" },

	/* ---- no property at all: MS-OXCMAIL 2.2.3.2.29's list */
	{ "Resent-From", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Resent-Sender", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Resent-Date", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Resent-Message-Id", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Content-Disposition", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Content-Description", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Content-Transfer-Encoding", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Content-ID", TAG_BODY_CONTENT_ID, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Content-MD5", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "MIME-Version", 0, HI_NONE, HX_NONE, 0, HF_NO_TWIN, NONE, "2.2.3.2.29 / -" },
	{ "Return-Path", 0, HI_NONE, HX_NONE, 0, HF_NO_TWIN, NONE, "2.2.3.2.29 / -" },
	{ "Comments", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "AdHoc", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Apparently-To", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Approved", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Control", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Distribution", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Encoding", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "FollowUp-To", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Lines", 0, HI_NONE, HX_NONE, 0, HF_NO_TWIN, NONE, "2.2.3.2.29 / -" },
	{ "Bytes", 0, HI_NONE, HX_NONE, 0, HF_NO_TWIN, NONE, "2.2.3.2.29 / -" },
	{ "Article", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Supercedes", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },  /* (sic) */
	{ "NewsGroups", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "NntpPostingHost", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Organization", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Path", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "RR", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Summary", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Trace", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "Encrypted", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "X-MimeOle", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
	{ "X-MS-TNEF-Correlator", 0, HI_NONE, HX_NONE, 0, 0, NONE, "2.2.3.2.29 / -" },
};

const size_t header_table_len = G_N_ELEMENTS(header_table);

static bool ieq(const char *a, const char *b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static bool iprefix(const char *s, const char *prefix)
{
	return g_ascii_strncasecmp(s, prefix, strlen(prefix)) == 0;
}

const header_row *header_find(const char *name)
{
	for (size_t i = 0; i < header_table_len; i++)
		if (ieq(name, header_table[i].name))
			return &header_table[i];
	return NULL;
}

bool header_row_is_generic(const header_row *row, const char *name)
{
	if (row)
		return (row->flags & HF_GENERIC) != 0;
	if (iprefix(name, "X-MS-Exchange-Organization-")) {
		/* the Auth* ones are kept (MS-OXCMAIL 2.2.3.2.29) */
		return iprefix(name, "X-MS-Exchange-Organization-Auth");
	}
	if (iprefix(name, "X-MS-Exchange-Forest-"))
		return false;
	/* a header name that cannot be a file name is not shown */
	return *name && strlen(name) <= 255 /* NAME_MAX */ && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

bool header_is_generic(const char *name)
{
	return header_row_is_generic(header_find(name), name);
}

bool header_tag_is_editable(uint32_t tag)
{
	for (size_t i = 0; i < header_table_len; i++)
		for (const uint32_t *t = header_table[i].edit; t < header_table[i].edit + 4 && *t; t++)
			if (*t == tag)
				return true;
	return false;
}

/* ---- Content-Language ---------------------------------------------------- */

/* [MS-LCID] for the language tags mail commonly carries (2.2.3.2.11); the
 * first tag of an LCID is the one the writer gives it (2.1.3.2.16). */
static const struct { const char *tag; int lcid; } lcid_table[] = {
	{ "ar", 0x0001 }, { "bg", 0x0002 }, { "ca", 0x0003 }, { "zh-cn", 0x0804 },
	{ "zh-tw", 0x0404 }, { "zh", 0x0004 }, { "cs", 0x0005 }, { "da", 0x0006 },
	{ "de-at", 0x0C07 }, { "de-ch", 0x0807 }, { "de-de", 0x0407 }, { "de", 0x0407 },
	{ "el", 0x0008 }, { "en-au", 0x0C09 }, { "en-ca", 0x1009 }, { "en-gb", 0x0809 },
	{ "en-us", 0x0409 }, { "en", 0x0409 }, { "es-es", 0x0C0A }, { "es-mx", 0x080A },
	{ "es", 0x0C0A }, { "fi", 0x000B }, { "fr-ca", 0x0C0C }, { "fr-fr", 0x040C },
	{ "fr", 0x040C }, { "he", 0x000D }, { "hu", 0x000E }, { "is", 0x000F },
	{ "it", 0x0410 }, { "ja", 0x0411 }, { "ko", 0x0412 }, { "nl", 0x0413 },
	{ "nb", 0x0414 }, { "no", 0x0414 }, { "pl", 0x0415 }, { "pt-br", 0x0416 },
	{ "pt-pt", 0x0816 }, { "pt", 0x0816 }, { "ro", 0x0418 }, { "ru", 0x0419 },
	{ "hr", 0x041A }, { "sk", 0x041B }, { "sv", 0x041D }, { "th", 0x041E },
	{ "tr", 0x041F }, { "uk", 0x0422 }, { "sl", 0x0424 }, { "et", 0x0425 },
	{ "lv", 0x0426 }, { "lt", 0x0427 }, { "vi", 0x042A },
};

int header_lcid_from_tag(const char *tag)
{
	for (size_t i = 0; i < G_N_ELEMENTS(lcid_table); i++)
		if (ieq(tag, lcid_table[i].tag))
			return lcid_table[i].lcid;
	return 0;
}

const char *header_lcid_tag(int64_t lcid)
{
	for (size_t i = 0; i < G_N_ELEMENTS(lcid_table); i++)
		if (lcid_table[i].lcid == lcid)
			return lcid_table[i].tag;
	return NULL;
}
