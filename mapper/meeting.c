/*
 * meeting.c - an invitation's iCalendar (text/calendar) to a meeting
 * object: MS-OXCMAIL 2.2.3.3.3 hands a text/calendar part to MS-OXCICAL,
 * which says what each piece becomes.  libical parses; this file only maps.
 *
 * What is mapped (MS-OXCICAL 2.1.3.1.1): METHOD to the message class
 * (2.1.3.1.1.1: REQUEST, REPLY by the attendee's PARTSTAT, CANCEL, PUBLISH,
 * COUNTER), and of the first VEVENT: DTSTART and DTEND (or DURATION) as
 * PidLidAppointmentStartWhole/EndWhole, LOCATION as PidLidLocation, UID as
 * PidLidGlobalObjectId and PidLidCleanGlobalObjectId (2.1.3.1.1.20.26),
 * RRULE as PidLidRecurring, ORGANIZER and the ATTENDEEs by role as
 * PidLidToAttendeesString / PidLidCcAttendeesString.  The iCalendar stream
 * itself stays the message's text/calendar attachment.
 */
#include <string.h>

#include <libical/ical.h>

#include "mapper-private.h"
#include "tags.h"

/* MS-OXPROPS: the named properties set here */
enum {
	LID_LOCATION = 0x8208,                /* PSETID_Appointment, PtypString */
	LID_APPOINTMENT_START_WHOLE = 0x820D, /* PtypTime */
	LID_APPOINTMENT_END_WHOLE = 0x820E,   /* PtypTime */
	LID_APPOINTMENT_SUB_TYPE = 0x8215,    /* PtypBoolean: all day */
	LID_RECURRING = 0x8223,               /* PtypBoolean */
	LID_TO_ATTENDEES = 0x823B,            /* PtypString */
	LID_CC_ATTENDEES = 0x823C,            /* PtypString */
	LID_GLOBAL_OBJECT_ID = 0x0003,        /* PSETID_Meeting, PtypBinary */
	LID_CLEAN_GLOBAL_OBJECT_ID = 0x0023,  /* PtypBinary */
};

static void set_time(mapper_bag *bag, uint32_t lid, int64_t t)
{
	mapper_prop *p = bag_set_named_lid(bag, &mapper_psetid_appointment, lid, PT_SYSTIME);
	p->v.t = t;
}

static void set_string(mapper_bag *bag, const mapper_propset *set, uint32_t lid, const char *v)
{
	if (!v || !*v || !g_utf8_validate(v, -1, NULL))
		return;
	mapper_prop *p = bag_set_named_lid(bag, set, lid, PT_UNICODE);
	p->str = g_strdup(v);
}

static void set_bool(mapper_bag *bag, uint32_t lid, bool v)
{
	mapper_prop *p = bag_set_named_lid(bag, &mapper_psetid_appointment, lid, PT_BOOLEAN);
	p->v.b = v;
}

/* A DTSTART/DTEND in UTC seconds: its own time zone (the calendar's
 * VTIMEZONE, else a TZID libical knows), else UTC (floating times too). */
static bool utc_seconds(icalcomponent *ev, icalproperty *prop, struct icaltimetype t, int64_t *out)
{
	if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
		return false;
	icaltimezone *zone = (icaltimezone *)t.zone;
	const char *tzid = prop ? icalproperty_get_parameter_as_string(prop, "TZID") : NULL;
	if (!zone && tzid) {
		icalcomponent *cal = icalcomponent_get_parent(ev);
		zone = cal ? icalcomponent_get_timezone(cal, tzid) : NULL;
		if (!zone)
			zone = icaltimezone_get_builtin_timezone(tzid);
	}
	*out = (int64_t)icaltime_as_timet_with_zone(t, zone ? zone : icaltimezone_get_utc_timezone());
	return true;
}

/* MS-OXCICAL 2.1.3.1.1.20.26: the Global Object ID of @uid: the UID itself
 * when it is one in hex (as Outlook writes them), else the "vCal-Uid"
 * wrapping of its bytes.  The clean one (no instance date) is the same. */
static GBytes *global_object_id(const char *uid)
{
	static const guint8 prefix[16] = { 0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00,
	                                   0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08 };
	size_t n = strlen(uid);
	if (n >= 2 * 40 && n % 2 == 0 && g_ascii_strncasecmp(uid, "040000008200E00074C5B7101A82E008", 32) == 0) {
		GByteArray *b = g_byte_array_sized_new((guint)(n / 2));
		bool hex = true;
		for (size_t i = 0; hex && i < n; i += 2) {
			int hi = g_ascii_xdigit_value(uid[i]), lo = g_ascii_xdigit_value(uid[i + 1]);
			hex = hi >= 0 && lo >= 0;
			guint8 v = (guint8)(hi << 4 | lo);
			g_byte_array_append(b, &v, 1);
		}
		if (hex)
			return g_byte_array_free_to_bytes(b);
		g_byte_array_unref(b);
	}
	/* header: prefix, 4 bytes of instance date (0), 8 of creation time (0),
	 * 8 reserved (0), then the size and data: "vCal-Uid", version 1, UID, NUL */
	static const char tag[] = "vCal-Uid";
	guint32 size = (guint32)(8 + 4 + n + 1);
	GByteArray *b = g_byte_array_sized_new(16 + 20 + 4 + size);
	g_byte_array_append(b, prefix, 16);
	static const guint8 zeros[20] = { 0 };
	g_byte_array_append(b, zeros, 20);
	guint8 le[4] = { size & 0xFF, size >> 8 & 0xFF, size >> 16 & 0xFF, size >> 24 & 0xFF };
	g_byte_array_append(b, le, 4);
	g_byte_array_append(b, (const guint8 *)tag, 8);
	static const guint8 version[4] = { 1, 0, 0, 0 };
	g_byte_array_append(b, version, 4);
	g_byte_array_append(b, (const guint8 *)uid, (guint)n + 1);
	return g_byte_array_free_to_bytes(b);
}

/* "mailto:a@example.org" -> "a@example.org" */
static const char *cal_address(const char *v)
{
	return v && g_ascii_strncasecmp(v, "mailto:", 7) == 0 ? v + 7 : v;
}

/* The attendees by role (MS-OXCICAL 2.1.3.1.1.20.2: REQ-PARTICIPANT and
 * CHAIR as required, OPT- and NON-PARTICIPANT as optional), "; " apart;
 * *@partstat: the first attendee's participation (for a REPLY). */
static void attendees(icalcomponent *ev, mapper_bag *bag, icalparameter_partstat *partstat)
{
	GString *to = g_string_new(NULL), *cc = g_string_new(NULL);
	*partstat = ICAL_PARTSTAT_NONE;
	for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY); p;
	     p = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
		icalparameter *cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
		icalparameter *role = icalproperty_get_first_parameter(p, ICAL_ROLE_PARAMETER);
		icalparameter *ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER);
		if (ps && *partstat == ICAL_PARTSTAT_NONE)
			*partstat = icalparameter_get_partstat(ps);
		icalparameter_role r = role ? icalparameter_get_role(role) : ICAL_ROLE_REQPARTICIPANT;
		GString *s = r == ICAL_ROLE_OPTPARTICIPANT || r == ICAL_ROLE_NONPARTICIPANT ? cc : to;
		const char *name = cn ? icalparameter_get_cn(cn) : NULL;
		const char *addr = cal_address(icalproperty_get_attendee(p));
		if (s->len)
			g_string_append(s, "; ");
		g_string_append(s, name && *name ? name : addr ? addr : "");
	}
	set_string(bag, &mapper_psetid_appointment, LID_TO_ATTENDEES, to->str);
	set_string(bag, &mapper_psetid_appointment, LID_CC_ATTENDEES, cc->str);
	g_string_free(to, TRUE);
	g_string_free(cc, TRUE);
}

/* MS-OXCICAL 2.1.3.1.1.20.29: the ORGANIZER is whom the meeting is sent
 * for, the PidTagSentRepresenting* group, where it differs from From. */
static void organizer(icalcomponent *ev, mapper_bag *bag)
{
	icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ORGANIZER_PROPERTY);
	const char *addr = p ? cal_address(icalproperty_get_organizer(p)) : NULL;
	if (!addr || !*addr || !g_utf8_validate(addr, -1, NULL) || strchr(addr, ':'))
		return;
	mapper_prop *now = bag_get(bag, TAG_SENT_REPRESENTING_SMTP_ADDRESS);
	if (now && now->str && g_ascii_strcasecmp(now->str, addr) == 0)
		return;
	icalparameter *cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
	const char *name = cn ? icalparameter_get_cn(cn) : NULL;
	name = name && *name && g_utf8_validate(name, -1, NULL) ? name : addr;
	bag_set_string(bag, TAG_SENT_REPRESENTING_NAME, name);
	bag_set_string(bag, PROP_TAG(0x0064, PT_UNICODE), "SMTP");   /* ...AddressType */
	bag_set_string(bag, TAG_SENT_REPRESENTING_EMAIL_ADDRESS, addr);
	bag_set_string(bag, TAG_SENT_REPRESENTING_SMTP_ADDRESS, addr);
	bag_set_binary_take(bag, PROP_TAG(0x0041, PT_BINARY), address_oneoff_entryid(name, addr));
	bag_set_binary_take(bag, PROP_TAG(0x003B, PT_BINARY), address_search_key(addr));
}

/* MS-OXCICAL 2.1.3.1.1.1: the class of each METHOD. */
static const char *meeting_class(icalproperty_method method, icalparameter_partstat partstat)
{
	switch (method) {
	case ICAL_METHOD_REQUEST: return "IPM.Schedule.Meeting.Request";
	case ICAL_METHOD_CANCEL: return "IPM.Schedule.Meeting.Canceled";
	case ICAL_METHOD_PUBLISH: return "IPM.Appointment";
	case ICAL_METHOD_COUNTER: return "IPM.Schedule.Meeting.Resp.Tent";
	case ICAL_METHOD_REPLY:
		return partstat == ICAL_PARTSTAT_ACCEPTED ? "IPM.Schedule.Meeting.Resp.Pos"
		       : partstat == ICAL_PARTSTAT_DECLINED ? "IPM.Schedule.Meeting.Resp.Neg"
		       : "IPM.Schedule.Meeting.Resp.Tent";
	default: return NULL;
	}
}

bool meeting_read(mapper_message *m, const char *data, size_t len)
{
	/* libical wants a string; a NUL inside ends it, as it would any reader */
	char *text = g_strndup(data, len);
	icalcomponent *cal = icalparser_parse_string(text);
	g_free(text);
	if (!cal)
		return false;
	icalcomponent *ev = icalcomponent_isa(cal) == ICAL_VEVENT_COMPONENT ? cal
	                    : icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
	icalproperty_method method = icalcomponent_isa(cal) == ICAL_VCALENDAR_COMPONENT
	                             ? icalcomponent_get_method(cal) : ICAL_METHOD_NONE;
	if (!ev) {
		icalcomponent_free(cal);
		return false;
	}
	mapper_bag *bag = &m->props;
	icalparameter_partstat partstat;
	attendees(ev, bag, &partstat);
	organizer(ev, bag);
	const char *cls = meeting_class(method, partstat);
	if (cls)
		bag_set_string(bag, TAG_MESSAGE_CLASS, cls);
	int64_t t;
	icalproperty *start = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
	struct icaltimetype st = icalcomponent_get_dtstart(ev);
	if (utc_seconds(ev, start, st, &t))
		set_time(bag, LID_APPOINTMENT_START_WHOLE, t);
	icalproperty *end = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
	if (utc_seconds(ev, end ? end : start, icalcomponent_get_dtend(ev), &t))
		set_time(bag, LID_APPOINTMENT_END_WHOLE, t);
	if (!icaltime_is_null_time(st))
		set_bool(bag, LID_APPOINTMENT_SUB_TYPE, icaltime_is_date(st));
	set_string(bag, &mapper_psetid_appointment, LID_LOCATION, icalcomponent_get_location(ev));
	set_bool(bag, LID_RECURRING, icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY) != NULL);
	const char *uid = icalcomponent_get_uid(ev);
	if (uid && *uid) {
		GBytes *goid = global_object_id(uid);
		mapper_prop *p = bag_set_named_lid(bag, &mapper_psetid_meeting, LID_GLOBAL_OBJECT_ID, PT_BINARY);
		p->bin = g_bytes_ref(goid);
		p = bag_set_named_lid(bag, &mapper_psetid_meeting, LID_CLEAN_GLOBAL_OBJECT_ID, PT_BINARY);
		p->bin = goid;
	}
	icalcomponent_free(cal);
	return cls != NULL;
}
