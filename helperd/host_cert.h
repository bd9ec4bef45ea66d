/* SPDX-License-Identifier: Apache-2.0 */
/* SSH host certificates for the containers (containarium-helperd(8), HOST
 * CERTIFICATES): one host CA per deployment signs every container's host
 * keys with OpenSSH's own ssh-keygen -s, so a user whose known_hosts trusts
 * the CA (@cert-authority, written by `containarium export`) is never asked
 * about a host key and never warned that one changed.
 *
 * The CA's private key is a file only root may read (host_ca_key in
 * helperd.conf), its public key the same path with ".pub".  helperd never
 * reads the private key itself: ssh-keygen does, in a process of its own.
 * The container's private host keys never leave the container: its own
 * ssh-keygen makes them (HOST_KEY_DIR), helperd reads the public keys in
 * the exec that sets the user up, signs them on the host, and pushes the
 * certificates back with an sshd drop-in naming them (HostKey,
 * HostCertificate), before the container's sshd has started.
 *
 * Each instance records what its certificates were signed for
 * (ACCT_KEY_HOST_CERT: the CA's fingerprint and the address); a container
 * whose record is not the current CA and its own address (the CA rotated,
 * a snapshot or backup restored with an older one, the address moved) is
 * signed again when it runs: at helperd's start (running containers on
 * this cluster member), and when it is started or woken. */
#ifndef CONTAINARIUM_HELPERD_HOST_CERT_H
#define CONTAINARIUM_HELPERD_HOST_CERT_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "config.h"
#include "incus_client.h"

struct helperd;

#define HOST_CERT_RECORD_MAX 128 /* ACCT_KEY_HOST_CERT's value (account.h) */

/* A container's public host key, as its exec printed it. */
#define HOST_KEYS_MAX 6
#define HOST_KEY_NAME_MAX 40
struct host_pubkey {
	char name[HOST_KEY_NAME_MAX + 1]; /* "ssh_host_ed25519_key": /etc/ssh/NAME(.pub) */
	char *line;                       /* "TYPE BASE64" (malloc'd) */
};
void host_pubkeys_free(struct host_pubkey *keys, size_t n);

/* The container's certified host keys: made by the container's own
 * ssh-keygen, in a directory of their own, the first time they are
 * needed, so that they exist at once when a create needs them (the image's
 * own host keys come later in the first boot, a moment before sshd starts,
 * and a second generator writing the same files could make the image's
 * fail).  The private keys never leave the container. */
#define HOST_KEY_DIR "/etc/ssh/containarium"
#define HOST_CERT_DROPIN "/etc/ssh/sshd_config.d/containarium-host-certificate.conf"

/* Shell text (for sh -c) run in the container, at create in the exec that
 * sets the user up: makes HOST_KEY_DIR's Ed25519 and ECDSA host keys when
 * they are missing, and the sshd drop-in that names them and their
 * certificates (HostKey, HostCertificate; the certificates come a moment
 * later).  Prints one "hostkey NAME KEY" line per key, "sshd-version ..."
 * (sshd -V), and "sshd-before" when an sshd was running that read its
 * configuration before the drop-in was there (it needs a reload).
 *
 * At create this runs seconds before the image's first boot starts sshd,
 * which reads the drop-in when it starts; an OpenSSH before 9.8 then loads
 * the certificates from disk for each connection (its per-connection
 * re-exec), so they may arrive after sshd started.
 *
 * HostKey lines in the drop-in would turn off sshd's default host keys
 * when nothing else names any: the default keys that exist are named
 * first, so a client that does not use the CA still sees the key it knew.
 * An sshd_config that does not include sshd_config.d gets an Include of
 * the drop-in at its top (HostKey and HostCertificate are global options:
 * after a Match block they would not be).  Whether an sshd read the
 * configuration before the drop-in: a process named sshd created in an
 * earlier clock tick than a process made after the renaming (cut reading
 * its own /proc/self/stat, field 22), or in the same one.  Exit 17 when a
 * key or the drop-in could not be made.
 *
 * It runs while the container's first boot competes for the CPU, where
 * every process it starts costs tens of milliseconds: the shell's own
 * read, printf and tests do what needs no program, and a program runs
 * only when there is work for it (at create: mkdir, two ssh-keygen, one
 * grep for other HostKey lines, mv, one grep for an Include, sshd -V).
 * ssh-keygen writes a private key 0600 whatever the umask. */
#define HOST_KEYS_SCRIPT                                                                                               \
	"d=" HOST_KEY_DIR "\n"                                                                                         \
	"conf=" HOST_CERT_DROPIN "\n"                                                                                  \
	"nl='\n'\n"                                                                                                    \
	"[ -d \"$d\" ] || mkdir -m 0755 \"$d\" || exit 17\n"                                                           \
	"for t in ed25519 ecdsa; do\n"                                                                                 \
	"  k=$d/ssh_host_${t}_key\n"                                                                                   \
	"  if [ ! -s \"$k\" ] || [ ! -s \"$k.pub\" ]; then\n"                                                          \
	"    [ ! -e \"$k\" ] && [ ! -e \"$k.pub\" ] || rm -f \"$k\" \"$k.pub\"\n"                                      \
	"    ssh-keygen -q -t \"$t\" -N '' -f \"$k\" </dev/null >/dev/null || exit 17\n"                               \
	"  fi\n"                                                                                                       \
	"done\n"                                                                                                       \
	"[ -d /etc/ssh/sshd_config.d ] || mkdir -p /etc/ssh/sshd_config.d || exit 17\n"                                \
	"set --\n"                                                                                                     \
	"for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do\n"                                            \
	"  [ \"$f\" = \"$conf\" ] || [ ! -f \"$f\" ] || set -- \"$@\" \"$f\"\n"                                        \
	"done\n"                                                                                                       \
	"other=\n"                                                                                                     \
	"[ \"$#\" = 0 ] || ! grep -qi '^[[:space:]]*HostKey[[:space:]]' \"$@\" || other=1\n"                           \
	"{\n"                                                                                                          \
	"  echo \"# Written by containarium-helperd: this container's SSH host keys and their\"\n"                     \
	"  echo \"# certificates, signed by the deployment's host CA.  Renewed by helperd; do not edit.\"\n"           \
	"  if [ -z \"$other\" ]; then\n"                                                                               \
	"    for t in rsa ecdsa ed25519; do\n"                                                                         \
	"      [ ! -s \"/etc/ssh/ssh_host_${t}_key\" ] || echo \"HostKey /etc/ssh/ssh_host_${t}_key\"\n"               \
	"    done\n"                                                                                                   \
	"  fi\n"                                                                                                       \
	"  for t in ed25519 ecdsa; do\n"                                                                               \
	"    echo \"HostKey $d/ssh_host_${t}_key\"\n"                                                                  \
	"    echo \"HostCertificate $d/ssh_host_${t}_key-cert.pub\"\n"                                                 \
	"  done\n"                                                                                                     \
	"} >\"$conf.tmp\" || exit 17\n"                                                                                \
	"new=\n"                                                                                                       \
	"if [ -f \"$conf\" ] && cmp -s \"$conf.tmp\" \"$conf\"; then rm -f \"$conf.tmp\"; else\n"                      \
	"  mv -f \"$conf.tmp\" \"$conf\" || exit 17\n"                                                                 \
	"  new=1\n"                                                                                                    \
	"fi\n"                                                                                                         \
	"if ! grep -Eqi -e '^[[:space:]]*Include[[:space:]]+(/etc/ssh/)?sshd_config\\.d/\\*\\.conf' \\\n"              \
	"     -e \"^[[:space:]]*Include[[:space:]]+$conf\" /etc/ssh/sshd_config; then\n"                               \
	"  { echo \"Include $conf\"; cat /etc/ssh/sshd_config; } >/etc/ssh/sshd_config.tmp &&\n"                       \
	"    mv -f /etc/ssh/sshd_config.tmp /etc/ssh/sshd_config || exit 17\n"                                         \
	"  new=1\n"                                                                                                    \
	"fi\n"                                                                                                         \
	"if [ -n \"$new\" ]; then\n"                                                                                   \
	"  set --\n"                                                                                                   \
	"  for c in /proc/[0-9]*/comm; do\n"                                                                           \
	"    read -r n 2>/dev/null <\"$c\" || continue\n"                                                              \
	"    [ \"$n\" != sshd ] || set -- \"$@\" \"${c%/comm}/stat\"\n"                                                \
	"  done\n"                                                                                                     \
	"  if [ \"$#\" != 0 ]; then\n"                                                                                 \
	"    mark=$(cut -d ' ' -f 22 /proc/self/stat)\n"                                                               \
	"    for s in \"$@\"; do\n"                                                                                    \
	"      t=$(cut -d ' ' -f 22 \"$s\" 2>/dev/null) || continue\n"                                                 \
	"      [ -z \"$t\" ] || [ \"$t\" -gt \"$mark\" ] || { echo sshd-before; break; }\n"                            \
	"    done\n"                                                                                                   \
	"  fi\n"                                                                                                       \
	"fi\n"                                                                                                         \
	"v=$(/usr/sbin/sshd -V 2>&1)\n"                                                                                \
	"echo \"sshd-version ${v%%\"$nl\"*}\"\n"                                                                       \
	"for t in ed25519 ecdsa; do\n"                                                                                 \
	"  read -r l <\"$d/ssh_host_${t}_key.pub\" || exit 17\n"                                                       \
	"  echo \"hostkey ssh_host_${t}_key $l\"\n"                                                                    \
	"done\n"

/* What HOST_KEYS_SCRIPT printed. */
struct host_keys {
	struct host_pubkey keys[HOST_KEYS_MAX];
	size_t n;
	bool sshd_before; /* an sshd read its configuration before the drop-in was there */
	int sshd_version; /* the container's OpenSSH as major * 100 + minor; 0: unknown */
};
int host_keys_parse(const char *out, struct host_keys *hk, char *err, size_t errlen);
void host_keys_free(struct host_keys *hk);

/* Check the configured CA (host_ca_key, its .pub, host_ca_trust and
 * ssh_keygen): the key is a regular file of this user that nobody else may
 * read, has no passphrase, and is the private half of its .pub (asked of
 * ssh-keygen -y, which proves ssh-keygen runs here and can read it); it
 * signs (a trial certificate made as a create makes them, when state_dir
 * exists); every line of host_ca_trust is a public key.  0 and the CA's fingerprint in
 * fp, or -1 with a sentence that names the file and what to do.  Nothing
 * to check (0, fp "") when host_ca_key is "". */
int host_ca_check(const struct helperd_config *cfg, char *fp, size_t fplen, char *err, size_t errlen);

/* The CA's public key line and its fingerprint, read now. */
int host_ca_public(const struct helperd_config *cfg, char *line, size_t linelen, char *fp, size_t fplen, char *err,
		   size_t errlen);

/* Sign n host keys as host certificates for principals (comma-separated)
 * with identity, by ssh-keygen -s in a private temporary directory under
 * state_dir.  certs[i] gets the certificate line of keys[i] (malloc'd) and
 * fp the fingerprint of the CA that signed them.  0, or -1 with err. */
int host_ca_sign(const struct helperd_config *cfg, const struct host_pubkey *keys, size_t n, const char *identity,
		 const char *principals, char **certs, char *fp, size_t fplen, char *err, size_t errlen);

/* The known_hosts lines users need: "@cert-authority PATTERNS KEY" for the
 * CA and for every key in host_ca_trust (duplicates once).  malloc'd, or
 * NULL with err. */
char *host_ca_known_hosts(const struct helperd_config *cfg, const char *patterns, char *err, size_t errlen);

/* The known_hosts pattern of an IPv4 network: the prefix rounded down to
 * whole octets ("10.0.3.*" for a /24, "10.0.*" for a /20); NULL for a
 * prefix shorter than 8 (too wide to trust the CA for). */
int host_cert_network_pattern(const char *cidr, char *out, size_t outlen);

/* The "hostkey NAME TYPE BASE64 ..." lines of a container's exec output
 * (other lines are skipped).  0 and *n keys, or -1 with err. */
int host_pubkeys_parse(const char *out, struct host_pubkey *keys, size_t max, size_t *n, char *err, size_t errlen);

/* Sign hk's keys for the container iname at ip (principals: the address
 * and the instance's name) and put the certificates beside them.  At
 * create (at_create), when no sshd has read its configuration yet or its
 * OpenSSH reads the certificates for each connection (before 9.8), they
 * are plain file pushes, which cost the container's boot almost nothing.
 * Otherwise one exec writes them (temporary file and rename, for the
 * connections a running sshd takes meanwhile), and reloads sshd when it
 * needs it: when it read its configuration before the drop-in was there,
 * or (OpenSSH 9.8 and later, or unknown) when it started before the
 * certificates were there; sshd -t first.  record gets what
 * ACCT_KEY_HOST_CERT should say.  INCUS_OK, or a status with err naming
 * what failed. */
enum incus_status host_cert_push(struct incus_client *c, const struct helperd *d, const char *iname, const char *ip,
				 const struct host_keys *hk, bool at_create, char *record, size_t recordlen, char *err,
				 size_t errlen);

/* A running container's host keys and drop-in (one exec of
 * HOST_KEYS_SCRIPT), then host_cert_push. */
enum incus_status host_cert_sign_instance(struct incus_client *c, const struct helperd *d, const char *iname,
					  const char *ip, char *record, size_t recordlen, char *err, size_t errlen);

/* The whole renewal of a running container's certificates:
 * host_cert_sign_instance, and the record stored on the instance. */
enum incus_status host_cert_renew(struct incus_client *c, const struct helperd *d, const struct account *a, char *err,
				  size_t errlen);

/* Renew, in the background, the certificates of every running container
 * on this helperd's cluster member whose record is not current (an
 * operation, "host-certificates"). */
void host_cert_sweep_start(struct helperd *d);

#endif
