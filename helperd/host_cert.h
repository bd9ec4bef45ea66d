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
int host_ca_public(const struct helperd_config *cfg, char *line, size_t linelen, char *fp, size_t fplen,
		   char *err, size_t errlen);

/* Sign n host keys as host certificates for principals (comma-separated)
 * with identity, by ssh-keygen -s in a private temporary directory under
 * state_dir.  certs[i] gets the certificate line of keys[i] (malloc'd) and
 * fp the fingerprint of the CA that signed them.  0, or -1 with err. */
int host_ca_sign(const struct helperd_config *cfg, const struct host_pubkey *keys, size_t n,
		 const char *identity, const char *principals, char **certs, char *fp, size_t fplen,
		 char *err, size_t errlen);

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
int host_pubkeys_parse(const char *out, struct host_pubkey *keys, size_t max, size_t *n, char *err,
		       size_t errlen);

/* The container's certified host keys: made by the container's own
 * ssh-keygen, in a directory of their own, the first time they are
 * needed, so that they exist at once when a create needs them (the image's
 * own host keys come later in the first boot, a moment before sshd starts,
 * and a second generator writing the same files could make the image's
 * fail).  The private keys never leave the container. */
#define HOST_KEY_DIR "/etc/ssh/containarium"

/* Shell text (for sh -c) that makes HOST_KEY_DIR's Ed25519 and ECDSA host
 * keys when they are missing and prints one "hostkey NAME KEY" line for
 * each.  Exit 17 when ssh-keygen fails. */
#define HOST_KEYS_SCRIPT                                                                              \
	"[ -d " HOST_KEY_DIR " ] || mkdir -m 0755 " HOST_KEY_DIR " || exit 17\n"                       \
	"for t in ed25519 ecdsa; do\n"                                                                \
	"  k=" HOST_KEY_DIR "/ssh_host_${t}_key\n"                                                    \
	"  if [ ! -s \"$k\" ] || [ ! -s \"$k.pub\" ]; then\n"                                          \
	"    rm -f \"$k\" \"$k.pub\"\n"                                                                \
	"    (umask 077 && ssh-keygen -q -t \"$t\" -N '' -f \"$k\" </dev/null >/dev/null) || exit 17\n"  \
	"  fi\n"                                                                                      \
	"  printf 'hostkey %s ' \"${k##*/}\"; head -n 1 \"$k.pub\"\n"                                  \
	"done\n"

/* Sign keys for the container iname at ip (principals: the address and the
 * instance's name), push the certificates and an sshd drop-in naming the
 * keys and them (HostKey, HostCertificate), check the container's sshd
 * configuration with sshd -t and reload an sshd that started before them:
 * one exec.  record gets what ACCT_KEY_HOST_CERT should say.  INCUS_OK, or
 * a status with err naming what failed. */
enum incus_status host_cert_push(struct incus_client *c, const struct helperd *d, const char *iname,
				 const char *ip, const struct host_pubkey *keys, size_t n, char *record,
				 size_t recordlen, char *err, size_t errlen);

/* A running container's host keys (one exec of HOST_KEYS_SCRIPT), then
 * host_cert_push. */
enum incus_status host_cert_sign_instance(struct incus_client *c, const struct helperd *d, const char *iname,
					  const char *ip, char *record, size_t recordlen, char *err, size_t errlen);

/* The whole renewal of a running container's certificates:
 * host_cert_sign_instance, and the record stored on the instance. */
enum incus_status host_cert_renew(struct incus_client *c, const struct helperd *d, const struct account *a,
				  char *err, size_t errlen);

/* Renew, in the background, the certificates of every running container
 * on this helperd's cluster member whose record is not current (an
 * operation, "host-certificates"). */
void host_cert_sweep_start(struct helperd *d);

#endif
