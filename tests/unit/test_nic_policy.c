/* SPDX-License-Identifier: Apache-2.0 */
/* nic_policy: the NIC options that keep tenants apart.  What a new NIC
 * carries, what reconcile adds to or takes from an existing one, what is
 * said when the backend lacks an option, and how helperd.conf and an
 * instance object feed it.  (The options' effect on real frames is
 * tests/netiso/test_tenant_isolation.sh.) */
#include <check.h>
#include <string.h>

#include "account.h"
#include "config.h"
#include "harness.h"
#include "nic_policy.h"

#define ALL (NIC_MAC_FILTERING | NIC_IPV4_FILTERING | NIC_IPV6_FILTERING | NIC_PORT_ISOLATION)
#define SPOOF (NIC_MAC_FILTERING | NIC_IPV4_FILTERING | NIC_IPV6_FILTERING)

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(new_nic_has_every_supported_option)
{
	struct helperd_config cfg;
	helperd_config_defaults(&cfg);
	snprintf(cfg.network, sizeof cfg.network, "br9");
	struct nic_policy p = { .wanted = ALL, .supported = ALL, .server = "incus" };
	json_object *nic = nic_device_new(&cfg, &p, "10.0.0.5");
	ck_assert_str_eq(str(nic, "type"), "nic");
	ck_assert_str_eq(str(nic, "network"), "br9");
	ck_assert_str_eq(str(nic, "name"), "eth0");
	ck_assert_str_eq(str(nic, "ipv4.address"), "10.0.0.5");
	ck_assert_str_eq(str(nic, "security.mac_filtering"), "true");
	ck_assert_str_eq(str(nic, "security.ipv4_filtering"), "true");
	ck_assert_str_eq(str(nic, "security.ipv6_filtering"), "true");
	ck_assert_str_eq(str(nic, "security.port_isolation"), "true");
	ck_assert_uint_eq(nic_options_of(nic), ALL);
	ck_assert_int_eq(json_object_object_length(nic), 8);
	json_object_put(nic);

	/* An option the backend lacks is never sent: it would fail the create. */
	p.supported = NIC_MAC_FILTERING;
	nic = nic_device_new(&cfg, &p, "10.0.0.5");
	ck_assert_uint_eq(nic_options_of(nic), NIC_MAC_FILTERING);
	ck_assert_ptr_null(str(nic, "security.port_isolation"));
	json_object_put(nic);
}
END_TEST

START_TEST(apply_adds_missing_and_keeps_the_rest)
{
	struct nic_policy p = { .wanted = ALL, .supported = ALL, .server = "lxd" };
	json_object *nic = json_tokener_parse("{\"type\": \"nic\", \"network\": \"b\", \"name\": \"eth0\", "
					      "\"ipv4.address\": \"10.1.2.3\", \"hwaddr\": \"00:16:3e:00:00:01\", "
					      "\"security.mac_filtering\": \"true\"}");
	ck_assert_uint_eq(nic_options_of(nic), NIC_MAC_FILTERING);
	ck_assert_uint_eq(nic_policy_target(&p, NIC_MAC_FILTERING), ALL);
	ck_assert_uint_eq(nic_device_apply(nic, &p), ALL & ~(unsigned)NIC_MAC_FILTERING);
	ck_assert_uint_eq(nic_options_of(nic), ALL);
	ck_assert_str_eq(str(nic, "ipv4.address"), "10.1.2.3");
	ck_assert_str_eq(str(nic, "hwaddr"), "00:16:3e:00:00:01");
	/* Again: nothing to do. */
	ck_assert_uint_eq(nic_device_apply(nic, &p), 0);
	json_object_put(nic);
}
END_TEST

START_TEST(isolate_tenants_no_removes_only_port_isolation)
{
	struct nic_policy p = { .wanted = SPOOF, .supported = ALL, .server = "incus" };
	json_object *nic = json_tokener_parse("{\"type\": \"nic\", \"security.port_isolation\": \"true\", "
					      "\"security.mac_filtering\": \"true\", "
					      "\"security.ipv4_filtering\": \"true\", "
					      "\"security.ipv6_filtering\": \"true\"}");
	ck_assert_uint_eq(nic_device_apply(nic, &p), NIC_PORT_ISOLATION);
	ck_assert_uint_eq(nic_options_of(nic), SPOOF);
	ck_assert_ptr_null(str(nic, "security.port_isolation"));
	json_object_put(nic);
	/* Anti-spoofing is never taken away, even when unsupported now. */
	p.supported = 0;
	ck_assert_uint_eq(nic_policy_target(&p, SPOOF), SPOOF);
	/* A "false" value is not an option set. */
	nic = json_tokener_parse("{\"security.mac_filtering\": \"false\", \"security.ipv4_filtering\": \"yes\", "
				 "\"security.port_isolation\": null}");
	ck_assert_uint_eq(nic_options_of(nic), 0);
	json_object_put(nic);
}
END_TEST

START_TEST(descriptions_name_what_is_missing)
{
	char buf[512];
	struct nic_policy p = { .wanted = ALL, .supported = ALL, .server = "incus" };
	nic_policy_describe(&p, buf, sizeof buf);
	ck_assert_pstr_eq(buf, "tenants cannot take each other's addresses or reach each other's containers "
			       "(security.mac_filtering, security.ipv4_filtering, security.ipv6_filtering, "
			       "security.port_isolation, enforced by incus on the host)");
	p.supported = SPOOF;
	nic_policy_describe(&p, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "INCOMPLETE: incus cannot enforce security.port_isolation, so "
					  "tenants can reach each other's containers"));
	p.supported = NIC_MAC_FILTERING;
	nic_policy_describe(&p, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "cannot enforce security.ipv4_filtering, security.ipv6_filtering, "
					  "security.port_isolation, so a tenant who is root in their container can "
					  "answer for another tenant's address"));
	p.wanted = SPOOF;
	p.supported = ALL;
	nic_policy_describe(&p, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "they CAN reach each other's containers, as isolate_tenants = no asks"));
	nic_options_text(0, buf, sizeof buf);
	ck_assert_str_eq(buf, "none");
	/* Cut short, still a string. */
	nic_options_text(ALL, buf, 10);
	ck_assert_uint_eq(strlen(buf), 9);
}
END_TEST

START_TEST(config_isolate_tenants)
{
	struct helperd_config c;
	char err[256];
	helperd_config_defaults(&c);
	ck_assert_int_eq(c.isolate_tenants, 1);
	ck_assert_int_eq(helperd_config_set(&c, "isolate_tenants", "no", err, sizeof err), 0);
	ck_assert_int_eq(c.isolate_tenants, 0);
	ck_assert_int_eq(c.default_autostart, 1); /* one boolean does not write another */
	ck_assert_int_eq(helperd_config_set(&c, "default_autostart", "no", err, sizeof err), 0);
	ck_assert_int_eq(c.default_autostart, 0);
	ck_assert_int_eq(c.isolate_tenants, 0);
	ck_assert_int_eq(helperd_config_set(&c, "isolate_tenants", "yes", err, sizeof err), 0);
	ck_assert_int_eq(c.isolate_tenants, 1);
	ck_assert_int_eq(helperd_config_set(&c, "isolate_tenants", "maybe", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "isolate_tenants: \"maybe\" must be yes or no"));
	ck_assert_int_eq(c.isolate_tenants, 1);
}
END_TEST

START_TEST(account_reads_the_nic_options)
{
	json_object *inst =
		json_tokener_parse("{\"name\": \"ann-container\", \"status\": \"Running\", \"config\": {"
				   "\"user.containarium.managed\": \"true\", \"user.containarium.user\": \"ann\", "
				   "\"user.containarium.uid\": \"70001\", \"user.containarium.state\": \"active\", "
				   "\"user.containarium.ipv4\": \"10.0.0.9\", \"user.containarium.keys\": \"\"}, "
				   "\"devices\": {\"eth0\": {\"type\": \"nic\", \"security.ipv4_filtering\": \"true\", "
				   "\"security.port_isolation\": \"true\"}}}");
	struct account a;
	char why[256];
	ck_assert_int_eq(account_from_instance(inst, &a, why, sizeof why), 1);
	ck_assert_uint_eq(a.nic_options, NIC_IPV4_FILTERING | NIC_PORT_ISOLATION);
	json_object *j = account_to_json(&a), *ns;
	ck_assert(json_object_object_get_ex(j, "network_security", &ns));
	ck_assert_str_eq(json_object_to_json_string_ext(ns, JSON_C_TO_STRING_PLAIN),
			 "[\"security.ipv4_filtering\",\"security.port_isolation\"]");
	json_object_put(j);
	account_free(&a);
	json_object_put(inst);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nic_policy");
	TCase *tc = tcase_create("options");
	tcase_add_test(tc, new_nic_has_every_supported_option);
	tcase_add_test(tc, apply_adds_missing_and_keeps_the_rest);
	tcase_add_test(tc, isolate_tenants_no_removes_only_port_isolation);
	tcase_add_test(tc, descriptions_name_what_is_missing);
	suite_add_tcase(s, tc);
	TCase *io = tcase_create("inputs");
	tcase_add_test(io, config_isolate_tenants);
	tcase_add_test(io, account_reads_the_nic_options);
	suite_add_tcase(s, io);
	Suite *all[] = { s, NULL };
	return ctm_run_suites(all);
}
