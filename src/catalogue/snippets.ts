/**
 * The files the email changes add to `sympl-local.d`, in our own words.
 *
 * Keys are paths relative to the app's `sympl-local.d`. A text may hold
 * named placeholders that the installer fills from the settings:
 *
 * - `@@IMAP_PORT@@`, `@@IMAPS_PORT@@` (ch2): the extra IMAP and IMAPS
 *   ports, validated integers 1–65535 (AUTO_IMAP_PORT, AUTO_IMAPS_PORT).
 * - `@@DNSBL_CHECK_IN_CONNECT@@` (ch13): an Exim list of any of
 *   `spamhaus`, `spamcop`, `barracuda`, e.g. `spamhaus : spamcop`; empty
 *   means no list is asked at connect time.
 * - `@@LOG_SELECTOR@@` (ch3): upstream's log_selector flags, then ours
 *   (edits.ts `logSelectorFor`), e.g. `+tls_sni +smtp_protocol_error …`.
 *
 * ch10's `00-main/35-spamhaus-key` holds no key: it includes the key file
 * kept outside the trees ({@link SPAMHAUS_KEY_FILE_TEXT}, whose
 * `@@SPAMHAUS_DQ_KEY@@` is the Data Query Service key, `^[A-Za-z0-9]+$`),
 * so that no tree and no built config carries the key.
 *
 * Exim texts escape `${` as `\${` here because they live in template
 * literals. ACL rules are indented two spaces like the upstream ACL
 * snippets; the `.ifdef` lines must start in column one.
 *
 * Ordering is by file name, as the Makefile concatenates them:
 * the connect ACL runs 10-accept-local (upstream), 20-accept-known (ch5),
 * 21-check-sender-host-name (ch12), 25-dnsbl-reject (ch13),
 * 30-firewall-history (ch6), 40-ratelimit (ch7), 90-default (upstream).
 * The connect rules after 20-accept-known rely on it to let relay,
 * private and whitelisted hosts through first, so ch6, ch7, ch12 and ch13
 * need ch5 (ch6's defines are appended to ch5's `21-connect-check` too).
 */
import type { App } from "../server-layout.js";

/** One file a change adds (or, for ch10, replaces). */
export interface Snippet {
  app: App;
  /** "ch1" … "ch14". */
  change: string;
  text: string;
}

/** The connect ACL's directory in the exim4 tree. */
const CONNECT = "10-acl/10-acl-check-connect";
/** The RCPT ACL's directory in the exim4 tree. */
const RCPT = "10-acl/50-acl-check-rcpt";

/**
 * Spamhaus ZEN answers that mean "listed" (SBL, CSS, XBL, DROP, and PBL);
 * anything else, notably the 127.255.255.x error answers, is ignored.
 */
const ZEN_LISTED = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9", "127.0.0.10", "127.0.0.11"];
/**
 * ZEN answers refused at connect time: the PBL codes (127.0.0.10/11) are
 * left out because the PBL lists dial-up and home ranges, from which our
 * own users connect to log in and send.
 */
const ZEN_LISTED_AT_CONNECT = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"];
/**
 * Spamhaus DBL answers for domains that are bad in themselves (low
 * reputation, phishing, malware, botnet C&C). The 127.0.1.10x answers
 * mark legitimate domains that were abused and are not used to refuse.
 */
const DBL_LISTED = ["127.0.1.2", "127.0.1.4", "127.0.1.5", "127.0.1.6"];

/** Control-file test for the RCPT domain: `VHOST_DIR/DOMAIN/VHOST_CONFIG_DIR/blacklists/LIST`. */
function listEnabledForDomain(list: string): string {
  return `condition = \${if exists{VHOST_DIR/$domain/VHOST_CONFIG_DIR/blacklists/${list}}}`;
}

/**
 * A condition true when a keyed Spamhaus zone answers NAME with one of
 * `codes`. A dnsdb lookup rather than `dnslists`: a dnslists lookup that
 * times out is logged with its whole domain, key included (the default
 * `dnslist_defer` log selector), and would set $dnslist_domain to it.
 * `defer_never` makes a DNS failure count as "not listed", silently.
 */
function keyedZoneAnswers(name: string, zone: string, codes: string[]): string {
  return (
    `condition = \${if forany{\${lookup dnsdb{>: defer_never,a=${name}.SPAMHAUS_DQ_KEY.${zone}}}}` +
    `{match_ip{$item}{${codes.join(" : ")}}}}`
  );
}

/** The client address as a DNS blacklist key (nibbles for IPv6). */
const REVERSED_CLIENT = "\${reverse_ip:$sender_host_address}";

/**
 * The sender domain may reach a DNS query only when it looks like a host
 * name: an address literal such as `[IPv6:…]` holds the list separator.
 */
const SENDER_DOMAIN_IS_NAME = "condition = \${if match{$sender_address_domain}{^[A-Za-z0-9.-]+\\$}}";

/**
 * ch6's rule for one firewall flavour (`NFTFW` or `SYMPL`), present only
 * while both of its defines are: PREFIX_INCIDENT_THRESHOLD and PREFIX_DB.
 * `column` is the table's per-row incident count.
 */
function firewallHistoryRule(prefix: string, column: string): string {
  const db = `${prefix}_DB`;
  const client = "\${if isip6{$sender_host_address}{\${mask_n:$sender_host_address/64}}{$sender_host_address}}";
  const count = `\${lookup sqlite,file=${db}{SELECT CAST(coalesce(sum(${column}), 0) AS INTEGER) FROM blacklist WHERE ip = '\${quote_sqlite:${client}}'}}`;
  return `.ifdef ${prefix}_INCIDENT_THRESHOLD
.ifdef ${db}
  deny
    message = Blacklisted: Denied access - history of unwanted activity
    condition = \${if exists{${db}}}
    condition = \${if >{${count}}{${prefix}_INCIDENT_THRESHOLD}}
.endif
.endif`;
}

/**
 * The key file install writes outside the trees (SPAMHAUS_KEY_PATH, mode
 * 0640 root:Debian-exim) when a key is set; 35-spamhaus-key includes it.
 */
export const SPAMHAUS_KEY_FILE_TEXT = `# Written by makefilecheck install (ch10) from AUTO_SPAMHAUS_DB_KEY.
# Only root and exim may read it; sympl-local.d/00-main/35-spamhaus-key
# pulls it into the config. Change the key in the settings, not here.
SPAMHAUS_DQ_KEY = @@SPAMHAUS_DQ_KEY@@
`;

/**
 * What earlier releases wrote at 00-main/35-spamhaus-key: the key itself
 * (a template), or a note when none was set. Still ours: install replaces
 * them, moving a key it finds to the key file.
 */
export const OLD_SPAMHAUS_KEY_SNIPPETS = {
  keyed: `# Added by makefilecheck (ch10).
# The Spamhaus Data Query Service key. While it is defined, the keyed
# zones under dq.spamhaus.net can be used (75-dns-blacklists at RCPT,
# 25-dnsbl-reject at connect). Those rules never put the key into a
# message or log line; do not use it anywhere else.
SPAMHAUS_DQ_KEY = @@SPAMHAUS_DQ_KEY@@
`,
  none: `# Added by makefilecheck (ch10).
# No Spamhaus Data Query Service key is set, so SPAMHAUS_DQ_KEY is not
# defined and only the public Spamhaus rules are available. To use your
# key, set AUTO_SPAMHAUS_DB_KEY and run makefilecheck install again.
`,
} as const;

/** Every file the changes add, by path relative to `sympl-local.d`. */
export const SNIPPETS: Record<string, Snippet> = {
  "10-main/35-log-debug": {
    app: "dovecot",
    change: "ch1",
    text: `# Added by makefilecheck (ch1).
# Log every failed login with the reason, so the firewall's log scanner
# can see password guessing.
auth_verbose = yes
`,
  },

  "10-main/15-imap-ports": {
    app: "dovecot",
    change: "ch2",
    text: `# Added by makefilecheck (ch2).
# IMAP and IMAPS on two extra ports chosen by the admin. The standard
# listeners on 143 and 993 stay (webmail on this host may use them).
# Dovecot merges this block with the other imap-login settings; the
# listener names differ from the standard ones so neither replaces the
# other.
service imap-login {
  inet_listener imap_extra {
    port = @@IMAP_PORT@@
  }
  inet_listener imaps_extra {
    port = @@IMAPS_PORT@@
    ssl = yes
  }
}
`,
  },

  "00-main/25-logging": {
    app: "exim4",
    change: "ch3",
    text: `# Added by makefilecheck (ch3).
# exim takes log_selector once only, so this file owns it: every
# log_selector setting upstream has is commented out where it stands and
# its flags are carried here, first. Ours follow: SMTP protocol errors
# (such as AUTH when it was not offered), the local interface a client
# came in on (I=...), and the AUTH= value given on MAIL. The firewall's
# patterns rely on I= and on the protocol error lines.
log_selector = @@LOG_SELECTOR@@
`,
  },

  "00-main/65-no-ident": {
    app: "exim4",
    change: "ch4",
    text: `# Added by makefilecheck (ch4).
# No ident (RFC 1413) callbacks to connecting hosts. A zero timeout turns
# them off for every host. exim takes each option once only, so any
# rfc1413 setting upstream has is commented out where it stands.
rfc1413_hosts = *
rfc1413_query_timeout = 0s
`,
  },

  "00-main/21-connect-check": {
    app: "exim4",
    change: "ch5",
    text: `# Added by makefilecheck (ch5).
# Hosts that skip every check of the connect ACL (they are still checked
# at RCPT): one address, network or host name per line in
# ETC_DIR/exim4/whitelist_connect_hosts. No file, no hosts.
hostlist whitelist_connection_check = \${if exists{ETC_DIR/exim4/whitelist_connect_hosts}{ETC_DIR/exim4/whitelist_connect_hosts}}
`,
  },

  [`${CONNECT}/20-accept-known`]: {
    app: "exim4",
    change: "ch5",
    text: `  # Added by makefilecheck (ch5).
  # Hosts we know are let in before the connection checks that follow:
  # the connect whitelist, hosts trusted by address, hosts we relay for,
  # and loopback or private addresses.
  accept
    hosts = +whitelist_connection_check : +whitelisted_hosts_by_ip : +relay_from_hosts : +private_addresses
`,
  },

  [`${CONNECT}/30-firewall-history`]: {
    app: "exim4",
    change: "ch6",
    text: `  # Added by makefilecheck (ch6).
  # Refuse clients the firewall has recorded misbehaving more than a
  # threshold number of times. The defines in 00-main/21-connect-check
  # choose the firewall: SYMPL_INCIDENT_THRESHOLD with SYMPL_DB (Sympl or
  # Symbiosis: table blacklist, one row per incident with a count), or
  # NFTFW_INCIDENT_THRESHOLD with NFTFW_DB (nftfw: table blacklist,
  # column matchcount). At or below the threshold the client passes.
  # The firewall stores an IPv4 client as its address and an IPv6 client
  # as its /64 network in compressed form (2001:db8:1:2::/64), which is
  # what \${mask_n:...} produces. The message is matched by the
  # firewall's log scanner: keep it word for word.
${firewallHistoryRule("NFTFW", "matchcount")}
${firewallHistoryRule("SYMPL", "count")}
`,
  },

  [`${CONNECT}/40-ratelimit`]: {
    app: "exim4",
    change: "ch7",
    text: `  # Added by makefilecheck (ch7).
  # More than 10 connections in a 15 minute smoothing period are deferred
  # (4xx): a real mail server retries later, and the log line shows the
  # firewall's scanner who keeps hammering. Leaky mode counts only the
  # connections let in, so a client that slows down gets back in.
  defer
    ratelimit = 10 / 15m / per_conn / leaky
    message = Too many connections from $sender_host_address; try again later
    log_message = Sender deferred: rate $sender_rate per $sender_rate_period is over $sender_rate_limit

  # Log the rate of every client let in. This reads the rate computed
  # just above, so the connection is not counted twice.
  warn
    ratelimit = 0 / 15m / per_conn / readonly
    log_message = Connection rate $sender_rate per $sender_rate_period
`,
  },

  [`${RCPT}/76-dns-blacklists`]: {
    app: "exim4",
    change: "ch8",
    text: `  # Added by makefilecheck (ch8).
  # Two more DNS blacklists, each switched on for a domain by a control
  # file named for the list in VHOST_DIR/DOMAIN/VHOST_CONFIG_DIR/blacklists/.
  # SpamCop lists IPv4 addresses only, so IPv6 clients are not looked up.
  deny
    message = Mail from $sender_host_address refused: listed at $dnslist_domain
    !hosts = +whitelisted_hosts_by_ip
    condition = \${if isip4{$sender_host_address}}
    ${listEnabledForDomain("bl.spamcop.net")}
    dnslists = bl.spamcop.net=127.0.0.2

  deny
    message = Mail from $sender_host_address refused: listed at $dnslist_domain
    !hosts = +whitelisted_hosts_by_ip
    ${listEnabledForDomain("b.barracudacentral.org")}
    dnslists = b.barracudacentral.org=127.0.0.2
`,
  },

  [`${RCPT}/77-check-sender-host-name`]: {
    app: "exim4",
    change: "ch9",
    text: `  # Added by makefilecheck (ch9).
  # Refuse clients whose address has no reverse (PTR) record at all.
  # This is weaker than "verify = reverse_host_lookup", which also wants
  # the name to lead back to the address: here any PTR record passes.
  # A DNS failure makes the lookup defer, which gives a temporary error
  # rather than a refusal.
  deny
    message = No reverse DNS (PTR) record for $sender_host_address
    condition = \${if def:sender_host_address}
    !hosts = +whitelisted_hosts_by_ip : +private_addresses
    !condition = \${lookup dnsdb{ptr=$sender_host_address}{true}{false}}
`,
  },

  "00-main/35-spamhaus-key": {
    app: "exim4",
    change: "ch10",
    text: `# Added by makefilecheck (ch10).
# The Spamhaus Data Query Service key is kept in a file of its own that
# only root and exim can read, so neither this tree nor the built config
# holds it. makefilecheck install writes that file when a key is set; it
# defines SPAMHAUS_DQ_KEY, which switches on the keyed zones under
# dq.spamhaus.net (75-dns-blacklists at RCPT, 25-dnsbl-reject at connect).
# Without the file only the public Spamhaus rules are used.
.include_if_exists ETC_DIR/exim4/spamhaus-key
`,
  },

  [`${RCPT}/75-dns-blacklists`]: {
    app: "exim4",
    change: "ch10",
    text: `  # Replaced by makefilecheck (ch10).
  # Spamhaus blacklists, each switched on for a domain by a control file
  # named for the list in VHOST_DIR/DOMAIN/VHOST_CONFIG_DIR/blacklists/:
  #   zen.spamhaus.org     dbl.spamhaus.org       public zones
  #   zen.dq.spamhaus.net  dbl.dq.spamhaus.net    keyed zones (SPAMHAUS_DQ_KEY)
  # ZEN is asked about the client's address, DBL about the sender's
  # domain. Only the documented "listed" answers refuse mail:
  #   ZEN  ${ZEN_LISTED.join(" ")}
  #   DBL  ${DBL_LISTED.join(" ")}
  # Error answers (127.255.255.x, 127.0.1.255) and DBL's "abused
  # legitimate domain" answers (127.0.1.10x) are ignored.
.ifdef SPAMHAUS_DQ_KEY
  # The keyed rules name the list without its key in every message.
  deny
    message = Mail from $sender_host_address refused: listed at Spamhaus ZEN
    !hosts = +whitelisted_hosts_by_ip
    ${listEnabledForDomain("zen.dq.spamhaus.net")}
    ${keyedZoneAnswers(REVERSED_CLIENT, "zen.dq.spamhaus.net", ZEN_LISTED)}

  deny
    message = Sender domain $sender_address_domain refused: listed at Spamhaus DBL
    !hosts = +whitelisted_hosts_by_ip
    ${listEnabledForDomain("dbl.dq.spamhaus.net")}
    ${SENDER_DOMAIN_IS_NAME}
    ${keyedZoneAnswers("$sender_address_domain", "dbl.dq.spamhaus.net", DBL_LISTED)}

.endif
  deny
    message = Mail from $sender_host_address refused: listed at $dnslist_domain
    !hosts = +whitelisted_hosts_by_ip
    ${listEnabledForDomain("zen.spamhaus.org")}
    dnslists = zen.spamhaus.org=${ZEN_LISTED.join(",")}

  deny
    message = Sender domain $sender_address_domain refused: listed at $dnslist_domain
    !hosts = +whitelisted_hosts_by_ip
    ${listEnabledForDomain("dbl.spamhaus.org")}
    ${SENDER_DOMAIN_IS_NAME}
    dnslists = dbl.spamhaus.org=${DBL_LISTED.join(",")}/$sender_address_domain
`,
  },

  [`${CONNECT}/21-check-sender-host-name`]: {
    app: "exim4",
    change: "ch12",
    text: `  # Added by makefilecheck (ch12).
  # Refuse clients whose address has no reverse (PTR) record, before they
  # can say anything. Any PTR record passes; a DNS failure gives a
  # temporary error. ch9 makes the same test at RCPT; exim caches the
  # answer, so having both costs little.
  deny
    message = No reverse DNS (PTR) record for $sender_host_address
    !condition = \${lookup dnsdb{ptr=$sender_host_address}{true}{false}}
`,
  },

  "00-main/22-dns-check-in-connect": {
    app: "exim4",
    change: "ch13",
    text: `# Added by makefilecheck (ch13).
# The DNS blacklists the connect ACL asks about every client: an Exim
# list of any of spamhaus, spamcop and barracuda. A list left out is
# not queried at all. The order of the checks is fixed in
# 10-acl/10-acl-check-connect/25-dnsbl-reject.
DNSBL_CHECK_IN_CONNECT = @@DNSBL_CHECK_IN_CONNECT@@
`,
  },

  [`${CONNECT}/25-dnsbl-reject`]: {
    app: "exim4",
    change: "ch13",
    text: `  # Added by makefilecheck (ch13).
  # Refuse clients listed in the DNS blacklists named in
  # DNSBL_CHECK_IN_CONNECT (00-main/22-dns-check-in-connect). The name
  # test comes first in each rule, so a list not named is never queried.
  # Spamhaus ZEN refuses only on ${ZEN_LISTED_AT_CONNECT.join(" ")}:
  # the PBL answers (127.0.0.10, .11) list home and dial-up ranges, from
  # which our own users connect to log in. With SPAMHAUS_DQ_KEY defined
  # (ch10) the keyed zone is used and the key stays out of messages.
.ifdef SPAMHAUS_DQ_KEY
  deny
    message = Connection from $sender_host_address refused: listed at Spamhaus ZEN
    condition = \${if inlist{spamhaus}{DNSBL_CHECK_IN_CONNECT}}
    ${keyedZoneAnswers(REVERSED_CLIENT, "zen.dq.spamhaus.net", ZEN_LISTED_AT_CONNECT)}
.else
  deny
    message = Connection from $sender_host_address refused: listed at $dnslist_domain
    condition = \${if inlist{spamhaus}{DNSBL_CHECK_IN_CONNECT}}
    dnslists = zen.spamhaus.org=${ZEN_LISTED_AT_CONNECT.join(",")}
.endif

  # SpamCop lists IPv4 addresses only.
  deny
    message = Connection from $sender_host_address refused: listed at $dnslist_domain
    condition = \${if inlist{spamcop}{DNSBL_CHECK_IN_CONNECT}}
    condition = \${if isip4{$sender_host_address}}
    dnslists = bl.spamcop.net=127.0.0.2

  deny
    message = Connection from $sender_host_address refused: listed at $dnslist_domain
    condition = \${if inlist{barracuda}{DNSBL_CHECK_IN_CONNECT}}
    dnslists = b.barracudacentral.org=127.0.0.2
`,
  },

  [`${RCPT}/61-verify-local-sender`]: {
    app: "exim4",
    change: "ch14",
    text: `  # Added by makefilecheck (ch14).
  # A sender address in one of our own domains must exist here. Relay
  # hosts and clients that logged in were accepted earlier, so this
  # catches outsiders forging our domains.
  deny
    message = Sender <$sender_address> is in a local domain but does not exist here
    sender_domains = +local_domains
    !verify = sender
`,
  },
};
