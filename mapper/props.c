/*
 * props.c - canonical property names (MS-OXPROPS) and named-property sets.
 *
 * The table holds every property the mapping reference lists
 * (docs/oxcmail-mapping.md sections 1-4 and 7, generated from its tables);
 * a property not in it is shown by its tag, "0x6E010003" (design.md 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper-private.h"

/* oxcmail-mapping.md 0.2 */
const mapper_propset mapper_ps_internet_headers = { "PS_INTERNET_HEADERS", "{00020386-0000-0000-C000-000000000046}" };
const mapper_propset mapper_ps_public_strings = { "PS_PUBLIC_STRINGS", "{00020329-0000-0000-C000-000000000046}" };
const mapper_propset mapper_psetid_common = { "PSETID_Common", "{00062008-0000-0000-C000-000000000046}" };
/* meeting objects (meeting.c; MS-OXPROPS 1.3.2) */
const mapper_propset mapper_psetid_appointment = { "PSETID_Appointment", "{00062002-0000-0000-C000-000000000046}" };
const mapper_propset mapper_psetid_meeting = { "PSETID_Meeting", "{6ED8DA90-450B-101B-98DA-00AA003F1305}" };

static const mapper_propset *const propsets[] = {
	&mapper_ps_internet_headers,
	&mapper_ps_public_strings,
	&mapper_psetid_common,
	&mapper_psetid_appointment,
	&mapper_psetid_meeting,
};

const mapper_propset *mapper_propset_by_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(propsets); i++)
		if (strcmp(propsets[i]->name, name) == 0)
			return propsets[i];
	return NULL;
}

static const mapper_propdef propdefs[] = {
	{ PROP_TAG(0x001A, PT_UNICODE), "PidTagMessageClass", 0 },
	{ PROP_TAG(0x0037, PT_UNICODE), "PidTagSubject", 0 },
	{ PROP_TAG(0x003D, PT_UNICODE), "PidTagSubjectPrefix", 0 },
	{ PROP_TAG(0x0E1D, PT_UNICODE), "PidTagNormalizedSubject", 0 },
	{ PROP_TAG(0x0039, PT_SYSTIME), "PidTagClientSubmitTime", 0 },
	{ PROP_TAG(0x0E06, PT_SYSTIME), "PidTagMessageDeliveryTime", 0 },
	{ PROP_TAG(0x0042, PT_UNICODE), "PidTagSentRepresentingName", 0 },
	{ PROP_TAG(0x0064, PT_UNICODE), "PidTagSentRepresentingAddressType", 0 },
	{ PROP_TAG(0x0065, PT_UNICODE), "PidTagSentRepresentingEmailAddress", 0 },
	{ PROP_TAG(0x5D02, PT_UNICODE), "PidTagSentRepresentingSmtpAddress", 0 },
	{ PROP_TAG(0x0041, PT_BINARY), "PidTagSentRepresentingEntryId", 0 },
	{ PROP_TAG(0x003B, PT_BINARY), "PidTagSentRepresentingSearchKey", 0 },
	{ PROP_TAG(0x0C1A, PT_UNICODE), "PidTagSenderName", 0 },
	{ PROP_TAG(0x0C1E, PT_UNICODE), "PidTagSenderAddressType", 0 },
	{ PROP_TAG(0x0C1F, PT_UNICODE), "PidTagSenderEmailAddress", 0 },
	{ PROP_TAG(0x5D01, PT_UNICODE), "PidTagSenderSmtpAddress", 0 },
	{ PROP_TAG(0x0C19, PT_BINARY), "PidTagSenderEntryId", 0 },
	{ PROP_TAG(0x0C1D, PT_BINARY), "PidTagSenderSearchKey", 0 },
	{ PROP_TAG(0x004F, PT_BINARY), "PidTagReplyRecipientEntries", 0 },
	{ PROP_TAG(0x0050, PT_UNICODE), "PidTagReplyRecipientNames", 0 },
	{ PROP_TAG(0x1035, PT_UNICODE), "PidTagInternetMessageId", 0 },
	{ PROP_TAG(0x1042, PT_UNICODE), "PidTagInReplyToId", 0 },
	{ PROP_TAG(0x1039, PT_UNICODE), "PidTagInternetReferences", 0 },
	{ PROP_TAG(0x0017, PT_LONG), "PidTagImportance", 0 },
	{ PROP_TAG(0x0026, PT_LONG), "PidTagPriority", 0 },
	{ PROP_TAG(0x0036, PT_LONG), "PidTagSensitivity", 0 },
	{ PROP_TAG(0x0070, PT_UNICODE), "PidTagConversationTopic", 0 },
	{ PROP_TAG(0x0071, PT_BINARY), "PidTagConversationIndex", 0 },
	{ PROP_TAG(0x007D, PT_UNICODE), "PidTagTransportMessageHeaders", PROPDEF_MULTILINE },
	{ PROP_TAG(0x0023, PT_BOOLEAN), "PidTagOriginatorDeliveryReportRequested", 0 },
	{ PROP_TAG(0x0029, PT_BOOLEAN), "PidTagReadReceiptRequested", 0 },
	{ PROP_TAG(0x0C06, PT_BOOLEAN), "PidTagNonReceiptNotificationRequested", 0 },
	{ PROP_TAG(0x402B, PT_UNICODE), "PidTagReadReceiptName", 0 },
	{ PROP_TAG(0x4029, PT_UNICODE), "PidTagReadReceiptAddressType", 0 },
	{ PROP_TAG(0x402A, PT_UNICODE), "PidTagReadReceiptEmailAddress", 0 },
	{ PROP_TAG(0x5D05, PT_UNICODE), "PidTagReadReceiptSmtpAddress", 0 },
	{ PROP_TAG(0x0046, PT_BINARY), "PidTagReadReceiptEntryId", 0 },
	{ PROP_TAG(0x0053, PT_BINARY), "PidTagReadReceiptSearchKey", 0 },
	{ PROP_TAG(0x3FF1, PT_LONG), "PidTagMessageLocaleId", 0 },
	{ PROP_TAG(0x1043, PT_UNICODE), "PidTagListHelp", 0 },
	{ PROP_TAG(0x1044, PT_UNICODE), "PidTagListSubscribe", 0 },
	{ PROP_TAG(0x1045, PT_UNICODE), "PidTagListUnsubscribe", 0 },
	{ PROP_TAG(0x1041, PT_UNICODE), "PidTagInternetPrecedence", 0 },
	{ PROP_TAG(0x0015, PT_SYSTIME), "PidTagExpiryTime", 0 },
	{ PROP_TAG(0x0030, PT_SYSTIME), "PidTagReplyTime", 0 },
	{ PROP_TAG(0x3FDF, PT_LONG), "PidTagAutoResponseSuppress", 0 },
	{ PROP_TAG(0x0005, PT_BOOLEAN), "PidTagAutoForwarded", 0 },
	{ PROP_TAG(0x1015, PT_UNICODE), "PidTagBodyContentId", 0 },
	{ PROP_TAG(0x1014, PT_UNICODE), "PidTagBodyContentLocation", 0 },
	{ PROP_TAG(0x371A, PT_UNICODE), "PidTagAttachPayloadClass", 0 },
	{ PROP_TAG(0x3719, PT_UNICODE), "PidTagAttachPayloadProviderGuidString", 0 },
	{ PROP_TAG(0x64F0, PT_BINARY), "PidTagMimeSkeleton", 0 },
	{ PROP_TAG(0x4079, PT_LONG), "PidTagSenderIdStatus", 0 },
	{ PROP_TAG(0x4083, PT_UNICODE), "PidTagPurportedSenderDomain", 0 },
	{ PROP_TAG(0x4076, PT_LONG), "PidTagContentFilterSpamConfidenceLevel", 0 },
	{ PROP_TAG(0x6802, PT_UNICODE), "PidTagSenderTelephoneNumber", 0 },
	{ PROP_TAG(0x007F, PT_BINARY), "PidTagTnefCorrelationKey", 0 },
	{ PROP_TAG(0x5902, PT_LONG), "PidTagInternetMailOverrideFormat", 0 },
	{ PROP_TAG(0x3A71, PT_LONG), "PidTagSendInternetEncoding", 0 },
	{ PROP_TAG(0x0C15, PT_LONG), "PidTagRecipientType", 0 },
	{ PROP_TAG(0x3001, PT_UNICODE), "PidTagDisplayName", 0 },
	{ PROP_TAG(0x3002, PT_UNICODE), "PidTagAddressType", 0 },
	{ PROP_TAG(0x3003, PT_UNICODE), "PidTagEmailAddress", 0 },
	{ PROP_TAG(0x39FE, PT_UNICODE), "PidTagSmtpAddress", 0 },
	{ PROP_TAG(0x0FFF, PT_BINARY), "PidTagEntryId", 0 },
	{ PROP_TAG(0x5FF7, PT_BINARY), "PidTagRecipientEntryId", 0 },
	{ PROP_TAG(0x300B, PT_BINARY), "PidTagSearchKey", 0 },
	{ PROP_TAG(0x0FF9, PT_BINARY), "PidTagRecordKey", 0 },
	{ PROP_TAG(0x0FFE, PT_LONG), "PidTagObjectType", 0 },
	{ PROP_TAG(0x3900, PT_LONG), "PidTagDisplayType", 0 },
	{ PROP_TAG(0x3A20, PT_UNICODE), "PidTagTransmittableDisplayName", 0 },
	{ PROP_TAG(0x5FF6, PT_UNICODE), "PidTagRecipientDisplayName", 0 },
	{ PROP_TAG(0x5FFD, PT_LONG), "PidTagRecipientFlags", 0 },
	{ PROP_TAG(0x0E0F, PT_BOOLEAN), "PidTagResponsibility", 0 },
	{ PROP_TAG(0x3000, PT_LONG), "PidTagRowid", 0 },
	{ PROP_TAG(0x3A40, PT_BOOLEAN), "PidTagSendRichInfo", 0 },
	{ PROP_TAG(0x5FFF, PT_LONG), "PidTagRecipientTrackStatus", 0 },
	{ PROP_TAG(0x0E04, PT_UNICODE), "PidTagDisplayTo", 0 },
	{ PROP_TAG(0x0E03, PT_UNICODE), "PidTagDisplayCc", 0 },
	{ PROP_TAG(0x0E02, PT_UNICODE), "PidTagDisplayBcc", 0 },
	/* reports (MS-OXOMSG 2.2.2, MS-OXCMAIL 2.2.3.7) */
	{ PROP_TAG(0x0010, PT_SYSTIME), "PidTagDeliverTime", 0 },
	{ PROP_TAG(0x0025, PT_BINARY), "PidTagParentKey", 0 },
	{ PROP_TAG(0x002A, PT_SYSTIME), "PidTagReceiptTime", 0 },
	{ PROP_TAG(0x0032, PT_SYSTIME), "PidTagReportTime", 0 },
	{ PROP_TAG(0x0049, PT_UNICODE), "PidTagOriginalSubject", 0 },
	{ PROP_TAG(0x004E, PT_SYSTIME), "PidTagOriginalSubmitTime", 0 },
	{ PROP_TAG(0x0074, PT_UNICODE), "PidTagOriginalDisplayTo", 0 },
	{ PROP_TAG(0x0080, PT_UNICODE), "PidTagReportDisposition", 0 },
	{ PROP_TAG(0x0081, PT_UNICODE), "PidTagReportDispositionMode", 0 },
	{ PROP_TAG(0x0C04, PT_LONG), "PidTagNonDeliveryReportReasonCode", 0 },
	{ PROP_TAG(0x0C05, PT_LONG), "PidTagNonDeliveryReportDiagCode", 0 },
	{ PROP_TAG(0x0C1B, PT_UNICODE), "PidTagSupplementaryInfo", 0 },
	{ PROP_TAG(0x0C20, PT_LONG), "PidTagNonDeliveryReportStatusCode", 0 },
	{ PROP_TAG(0x0C21, PT_UNICODE), "PidTagRemoteMessageTransferAgent", 0 },
	{ PROP_TAG(0x1001, PT_UNICODE), "PidTagReportText", PROPDEF_MULTILINE },
	{ PROP_TAG(0x1046, PT_UNICODE), "PidTagOriginalMessageId", 0 },
	{ PROP_TAG(0x6820, PT_UNICODE), "PidTagReportingMessageTransferAgent", 0 },
	{ PROP_TAG(0x1000, PT_UNICODE), "PidTagBody", PROPDEF_MULTILINE },
	{ PROP_TAG(0x1013, PT_BINARY), "PidTagHtml", 0 },
	{ PROP_TAG(0x1009, PT_BINARY), "PidTagRtfCompressed", 0 },
	{ PROP_TAG(0x0E1F, PT_BOOLEAN), "PidTagRtfInSync", 0 },
	{ PROP_TAG(0x1016, PT_LONG), "PidTagNativeBody", 0 },
	{ PROP_TAG(0x3FDE, PT_LONG), "PidTagInternetCodepage", 0 },
	{ PROP_TAG(0x3FFD, PT_LONG), "PidTagMessageCodepage", 0 },
	{ PROP_TAG(0x371B, PT_UNICODE), "PidTagTextAttachmentCharset", 0 },
	{ PROP_TAG(0x3705, PT_LONG), "PidTagAttachMethod", 0 },
	{ PROP_TAG(0x3701, PT_BINARY), "PidTagAttachDataBinary", 0 },
	{ PROP_TAG(0x3701, PT_OBJECT), "PidTagAttachDataObject", 0 },
	{ PROP_TAG(0x3707, PT_UNICODE), "PidTagAttachLongFilename", 0 },
	{ PROP_TAG(0x3704, PT_UNICODE), "PidTagAttachFilename", 0 },
	{ PROP_TAG(0x3703, PT_UNICODE), "PidTagAttachExtension", 0 },
	{ PROP_TAG(0x370E, PT_UNICODE), "PidTagAttachMimeTag", 0 },
	{ PROP_TAG(0x3712, PT_UNICODE), "PidTagAttachContentId", 0 },
	{ PROP_TAG(0x3713, PT_UNICODE), "PidTagAttachContentLocation", 0 },
	{ PROP_TAG(0x3711, PT_UNICODE), "PidTagAttachContentBase", 0 },
	{ PROP_TAG(0x0E20, PT_LONG), "PidTagAttachSize", 0 },
	{ PROP_TAG(0x0E21, PT_LONG), "PidTagAttachNumber", 0 },
	{ PROP_TAG(0x3714, PT_LONG), "PidTagAttachFlags", 0 },
	{ PROP_TAG(0x7FFE, PT_BOOLEAN), "PidTagAttachmentHidden", 0 },
	{ PROP_TAG(0x7FFD, PT_LONG), "PidTagAttachmentFlags", 0 },
	{ PROP_TAG(0x7FFF, PT_BOOLEAN), "PidTagAttachmentContactPhoto", 0 },
	{ PROP_TAG(0x370B, PT_LONG), "PidTagRenderingPosition", 0 },
	{ PROP_TAG(0x3702, PT_BINARY), "PidTagAttachEncoding", 0 },
	{ PROP_TAG(0x370A, PT_BINARY), "PidTagAttachTag", 0 },
	{ PROP_TAG(0x3709, PT_BINARY), "PidTagAttachRendering", 0 },
	{ PROP_TAG(0x3708, PT_UNICODE), "PidTagAttachPathname", 0 },
	{ PROP_TAG(0x370D, PT_UNICODE), "PidTagAttachLongPathname", 0 },
	{ PROP_TAG(0x3007, PT_SYSTIME), "PidTagCreationTime", 0 },
	{ PROP_TAG(0x3008, PT_SYSTIME), "PidTagLastModificationTime", 0 },
	{ PROP_TAG(0x0E1B, PT_BOOLEAN), "PidTagHasAttachments", 0 },
	{ PROP_TAG(0x0E07, PT_LONG), "PidTagMessageFlags", 0 },
	{ PROP_TAG(0x0E17, PT_LONG), "PidTagMessageStatus", 0 },
	{ PROP_TAG(0x0E69, PT_BOOLEAN), "PidTagRead", 0 },
	{ PROP_TAG(0x1090, PT_LONG), "PidTagFlagStatus", 0 },
	{ PROP_TAG(0x1095, PT_LONG), "PidTagFollowupIcon", 0 },
	{ PROP_TAG(0x1091, PT_SYSTIME), "PidTagFlagCompleteTime", 0 },
	{ PROP_TAG(0x0E2B, PT_LONG), "PidTagTodoItemFlags", 0 },
	{ PROP_TAG(0x1081, PT_LONG), "PidTagLastVerbExecuted", 0 },
	{ PROP_TAG(0x1082, PT_SYSTIME), "PidTagLastVerbExecutionTime", 0 },
	{ PROP_TAG(0x1080, PT_LONG), "PidTagIconIndex", 0 },
};

/* propdefs by tag and by name.  Every property set and every step of a
 * tree path looks one up, a million times for a message of 100,000 parts
 * (issue 9), so the table is indexed on first use; the index is built once
 * from constant data and never changes, so threads may share it. */
static GHashTable *defs_by_tag, *defs_by_name;

static void propdefs_index(void)
{
	static gsize done;
	if (!g_once_init_enter(&done))
		return;
	defs_by_tag = g_hash_table_new(g_direct_hash, g_direct_equal);
	defs_by_name = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; i < G_N_ELEMENTS(propdefs); i++) {
		g_hash_table_insert(defs_by_tag, GUINT_TO_POINTER(propdefs[i].tag), (gpointer)&propdefs[i]);
		g_hash_table_insert(defs_by_name, (gpointer)propdefs[i].name, (gpointer)&propdefs[i]);
	}
	g_once_init_leave(&done, 1);
}

const mapper_propdef *propdef_by_tag(uint32_t tag)
{
	propdefs_index();
	return g_hash_table_lookup(defs_by_tag, GUINT_TO_POINTER(tag));
}

const mapper_propdef *propdef_by_name(const char *name)
{
	propdefs_index();
	return g_hash_table_lookup(defs_by_name, name);
}

const char *mapper_tag_name(uint32_t tag)
{
	const mapper_propdef *def = propdef_by_tag(tag);
	return def ? def->name : NULL;
}

uint32_t mapper_tag_from_name(const char *name)
{
	const mapper_propdef *def = propdef_by_name(name);
	if (def)
		return def->tag;
	/* "0x" followed by exactly eight hex digits */
	if (strlen(name) == 10 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) {
		uint32_t v = 0;
		for (int i = 2; i < 10; i++) {
			/* exactly eight hex digits: no sign, blank or second "0x" */
			if (!g_ascii_isxdigit(name[i]))
				return 0;
			v = v << 4 | (uint32_t)g_ascii_xdigit_value(name[i]);
		}
		if (mapper_type_name(v))
			return v;
	}
	return 0;
}

const char *mapper_type_name(uint32_t tag)
{
	switch (PROP_TYPE(tag)) {
	case PT_SHORT: return "PtypInteger16";
	case PT_LONG: return "PtypInteger32";
	case PT_BOOLEAN: return "PtypBoolean";
	case PT_OBJECT: return "PtypObject";
	case PT_I8: return "PtypInteger64";
	case PT_UNICODE: return "PtypString";
	case PT_SYSTIME: return "PtypTime";
	case PT_CLSID: return "PtypGuid";
	case PT_BINARY: return "PtypBinary";
	case PT_MV_UNICODE: return "PtypMultipleString";
	default: return NULL;
	}
}
