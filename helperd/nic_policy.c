/* SPDX-License-Identifier: Apache-2.0 */
/* The NIC options that keep tenants apart (nic_policy.h says which and why). */
#include "nic_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"

static const struct {
	enum nic_option bit;
	const char *key;
} options[NIC_OPTION_COUNT] = {
	{ NIC_MAC_FILTERING, "security.mac_filtering" },
	{ NIC_IPV4_FILTERING, "security.ipv4_filtering" },
	{ NIC_IPV6_FILTERING, "security.ipv6_filtering" },
	{ NIC_PORT_ISOLATION, "security.port_isolation" },
};

void nic_policy_for(const struct incus_client *c, const struct helperd_config *cfg, struct nic_policy *p)
{
	p->wanted = NIC_MAC_FILTERING | NIC_IPV4_FILTERING | NIC_IPV6_FILTERING |
		    (cfg->isolate_tenants ? NIC_PORT_ISOLATION : 0u);
	/* MAC filtering on bridged NICs predates API extensions: every
	 * server that speaks this API has it. */
	p->supported = NIC_MAC_FILTERING;
	p->server = incus_server_name(c);
	if (incus_has_extension(c, INCUS_EXT_NIC_IPFILTER))
		p->supported |= NIC_IPV4_FILTERING | NIC_IPV6_FILTERING;
	if (incus_has_extension(c, INCUS_EXT_NIC_PORT_ISOLATION))
		p->supported |= NIC_PORT_ISOLATION;
}

unsigned nic_options_of(json_object *dev)
{
	unsigned bits = 0;
	json_object *v;
	for (size_t i = 0; i < NIC_OPTION_COUNT; i++) {
		/* A JSON null gets v == NULL, whose string is NULL. */
		const char *s = json_object_object_get_ex(dev, options[i].key, &v) ? json_object_get_string(v) : NULL;
		if (s && strcmp(s, "true") == 0)
			bits |= options[i].bit;
	}
	return bits;
}

unsigned nic_policy_target(const struct nic_policy *p, unsigned have)
{
	unsigned t = have | (p->wanted & p->supported);
	if (!(p->wanted & NIC_PORT_ISOLATION))
		t &= ~(unsigned)NIC_PORT_ISOLATION;
	return t;
}

unsigned nic_device_apply(json_object *dev, const struct nic_policy *p)
{
	unsigned have = nic_options_of(dev), want = nic_policy_target(p, have);
	for (size_t i = 0; i < NIC_OPTION_COUNT; i++) {
		if ((want & ~have) & options[i].bit)
			json_object_object_add(dev, options[i].key, json_object_new_string("true"));
		else if ((have & ~want) & options[i].bit)
			json_object_object_del(dev, options[i].key);
	}
	return want ^ have;
}

enum incus_status nic_apply_to_instance(struct incus_client *c, const struct nic_policy *p, const char *instance,
					unsigned *changed, char *err, size_t errlen)
{
	char path[160], *etag = NULL;
	json_object *inst = NULL, *devs, *nic;
	*changed = 0;
	snprintf(path, sizeof path, "/1.0/instances/%s", instance);
	enum incus_status s = incus_get(c, path, &inst, &etag, err, errlen);
	if (s != INCUS_OK)
		return s;
	if (!json_object_object_get_ex(inst, "devices", &devs) || !json_object_object_get_ex(devs, ACCT_NIC, &nic) ||
	    !json_object_is_type(nic, json_type_object)) {
		snprintf(err, errlen, "instance %s has no %s device of its own", instance, ACCT_NIC);
		s = INCUS_ERR_PROTOCOL;
	} else if ((*changed = nic_device_apply(nic, p)) != 0) {
		/* A PATCH replaces the devices it names, whole: send eth0 as it
		 * is plus the options. */
		json_object *b = json_object_new_object(), *d = json_object_new_object();
		json_object_object_add(d, ACCT_NIC, json_object_get(nic));
		json_object_object_add(b, "devices", d);
		s = incus_call(c, "PATCH", path, b, etag, 60, NULL, err, errlen);
		json_object_put(b);
	}
	json_object_put(inst);
	free(etag);
	return s;
}

json_object *nic_device_new(const struct helperd_config *cfg, const struct nic_policy *p, const char *ipv4)
{
	json_object *nic = json_object_new_object();
	json_object_object_add(nic, "type", json_object_new_string("nic"));
	json_object_object_add(nic, "network", json_object_new_string(cfg->network));
	json_object_object_add(nic, "name", json_object_new_string(ACCT_NIC));
	json_object_object_add(nic, "ipv4.address", json_object_new_string(ipv4));
	nic_device_apply(nic, p);
	return nic;
}

void nic_options_text(unsigned bits, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NIC_OPTION_COUNT && n < len; i++)
		if (bits & options[i].bit) {
			int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", options[i].key);
			n += w > 0 ? (size_t)w : 0;
		}
	if (!bits)
		snprintf(buf, len, "none");
}

void nic_policy_describe(const struct nic_policy *p, char *buf, size_t len)
{
	const char *server = p->server;
	unsigned missing = p->wanted & ~p->supported;
	char have[160], lack[160];
	nic_options_text(p->wanted & p->supported, have, sizeof have);
	nic_options_text(missing, lack, sizeof lack);
	if (missing & (NIC_MAC_FILTERING | NIC_IPV4_FILTERING))
		snprintf(buf, len,
			 "tenant isolation is INCOMPLETE: %s cannot enforce %s, so a tenant who is "
			 "root in their container can answer for another tenant's address; upgrade the "
			 "backend (Incus 6.0 and LXD 5.0 have every option). Enforced: %s",
			 server, lack, have);
	else if (missing & NIC_PORT_ISOLATION)
		snprintf(buf, len,
			 "tenant isolation is INCOMPLETE: %s cannot enforce %s, so tenants can reach "
			 "each other's containers on every port; upgrade the backend. Enforced: %s",
			 server, lack, have);
	else if (!(p->wanted & NIC_PORT_ISOLATION))
		snprintf(buf, len,
			 "tenants cannot take each other's addresses (%s); they CAN reach each "
			 "other's containers, as isolate_tenants = no asks",
			 have);
	else
		snprintf(buf, len,
			 "tenants cannot take each other's addresses or reach each other's "
			 "containers (%s, enforced by %s on the host)",
			 have, server);
}

json_object *nic_options_json(unsigned bits)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < NIC_OPTION_COUNT; i++)
		if (bits & options[i].bit)
			json_object_array_add(a, json_object_new_string(options[i].key));
	return a;
}

json_object *nic_policy_to_json(const struct nic_policy *p, const struct helperd_config *cfg)
{
	char summary[512];
	json_object *o = json_object_new_object();
	nic_policy_describe(p, summary, sizeof summary);
	json_object_object_add(o, "network", json_object_new_string(cfg->network));
	json_object_object_add(o, "isolate_tenants", json_object_new_boolean(cfg->isolate_tenants));
	json_object_object_add(o, "enforced", nic_options_json(p->wanted & p->supported));
	json_object_object_add(o, "missing", nic_options_json(p->wanted & ~p->supported));
	json_object_object_add(o, "complete", json_object_new_boolean((p->wanted & ~p->supported) == 0));
	json_object_object_add(o, "summary", json_object_new_string(summary));
	return o;
}
