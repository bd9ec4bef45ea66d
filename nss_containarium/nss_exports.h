/* SPDX-License-Identifier: Apache-2.0 */
/* The module's entry points, as glibc's NSS calls them (see nss(5) and
 * glibc's nss/nss_module.h).  Declared once here; exports.map lists the same. */
#ifndef CONTAINARIUM_NSS_EXPORTS_H
#define CONTAINARIUM_NSS_EXPORTS_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>

#define NSS_EXPORT __attribute__((visibility("default")))

NSS_EXPORT enum nss_status _nss_containarium_getpwnam_r(const char *name, struct passwd *pw, char *buffer,
							size_t buflen, int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_getpwuid_r(uid_t uid, struct passwd *pw, char *buffer, size_t buflen,
							int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_setpwent(int stayopen);
NSS_EXPORT enum nss_status _nss_containarium_getpwent_r(struct passwd *pw, char *buffer, size_t buflen, int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_endpwent(void);

NSS_EXPORT enum nss_status _nss_containarium_getgrnam_r(const char *name, struct group *gr, char *buffer, size_t buflen,
							int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_getgrgid_r(gid_t gid, struct group *gr, char *buffer, size_t buflen,
							int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_setgrent(int stayopen);
NSS_EXPORT enum nss_status _nss_containarium_getgrent_r(struct group *gr, char *buffer, size_t buflen, int *errnop);
NSS_EXPORT enum nss_status _nss_containarium_endgrent(void);
NSS_EXPORT enum nss_status _nss_containarium_initgroups_dyn(const char *user, gid_t group, long int *start,
							    long int *size, gid_t **groupsp, long int limit,
							    int *errnop);

#endif
