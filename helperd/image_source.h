/* SPDX-License-Identifier: Apache-2.0 */
/* Where a new container's image comes from: "ALIAS" (or a fingerprint) in
 * the backend's own image store, or "REMOTE:ALIAS" from an image server
 * declared in helperd.conf ("remote = NAME URL PROTOCOL [CERTIFICATE]";
 * "images", the public Linux Containers server over simplestreams, is
 * built in), as `incus launch images:debian/12` spells it.  The backend
 * pulls the image itself (source mode "pull"); helperd never downloads. */
#ifndef CONTAINARIUM_HELPERD_IMAGE_SOURCE_H
#define CONTAINARIUM_HELPERD_IMAGE_SOURCE_H

#include <json-c/json.h>
#include <stddef.h>

#include "config.h"
#include "incus_client.h"

#define IMAGE_ALIAS_MAX 127

struct image_ref {
	int remote_given;                /* 0: the backend's own store */
	struct image_remote remote;      /* a copy: a ref outlives a config reload */
	char alias[IMAGE_ALIAS_MAX + 1]; /* alias or fingerprint */
};

/* Parse what --image or helperd.conf's image says.  0, or -1 with err
 * saying what is wrong and what would be right (the declared remotes). */
int image_ref_parse(const struct helperd_config *cfg, const char *text, struct image_ref *ref, char *err,
		    size_t errlen);

/* The "source" object of POST /1.0/instances for ref on a server of this
 * kind (an Incus-protocol remote is "lxd" to LXD, "incus" to Incus).  The
 * remote's certificate file is read here, so a replaced file takes effect
 * at the next create.  NULL with err when it cannot be read. */
json_object *image_source_json(const struct image_ref *ref, enum incus_server kind, char *err, size_t errlen);

/* The remote's certificate file, when it has one, is a readable PEM
 * certificate.  0, or -1 with err (for the configuration check). */
int image_remote_check(const struct image_remote *r, char *err, size_t errlen);

/* "REMOTE:ALIAS" or "ALIAS" again, for messages and the registry. */
void image_ref_format(const struct image_ref *ref, char *buf, size_t len);

#endif
