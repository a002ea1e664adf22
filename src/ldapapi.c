#include <stdio.h>
#include <string.h>
#include "dynload.h"
#include "ldapapi.h"

/* Each pointer's type must be the one ldap.h declares. */
#define SAME_TYPE(field, fn)                                                         \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((su_ldap_api *)0)->field), \
						    __typeof__(&fn)),                        \
		       #fn " does not match su_ldap_api." #field)
SAME_TYPE(initialize, ldap_initialize);
SAME_TYPE(set_option, ldap_set_option);
SAME_TYPE(get_option, ldap_get_option);
SAME_TYPE(start_tls_s, ldap_start_tls_s);
SAME_TYPE(sasl_bind_s, ldap_sasl_bind_s);
SAME_TYPE(search_ext_s, ldap_search_ext_s);
SAME_TYPE(first_entry, ldap_first_entry);
SAME_TYPE(next_entry, ldap_next_entry);
SAME_TYPE(first_attribute, ldap_first_attribute);
SAME_TYPE(next_attribute, ldap_next_attribute);
SAME_TYPE(get_values_len, ldap_get_values_len);
SAME_TYPE(count_values_len, ldap_count_values_len);
SAME_TYPE(value_free_len, ldap_value_free_len);
SAME_TYPE(memfree, ldap_memfree);
SAME_TYPE(ber_free, ber_free);
SAME_TYPE(msgfree, ldap_msgfree);
SAME_TYPE(modify_ext_s, ldap_modify_ext_s);
SAME_TYPE(add_ext_s, ldap_add_ext_s);
SAME_TYPE(delete_ext_s, ldap_delete_ext_s);
SAME_TYPE(whoami_s, ldap_whoami_s);
SAME_TYPE(ber_bvfree, ber_bvfree);
SAME_TYPE(unbind_ext_s, ldap_unbind_ext_s);
SAME_TYPE(err2string, ldap_err2string);
SAME_TYPE(create_page_control, ldap_create_page_control);
SAME_TYPE(parse_result, ldap_parse_result);
SAME_TYPE(control_find, ldap_control_find);
SAME_TYPE(parse_pageresponse_control, ldap_parse_pageresponse_control);
SAME_TYPE(control_free, ldap_control_free);
SAME_TYPE(controls_free, ldap_controls_free);

#define RESOLVE(field, name) SU_DL_RESOLVE(api, field, handle, soname, name, why, why_size)

static const void *load(char *why, size_t why_size)
{
	static const char *const sonames[] = {SU_LIBLDAP_SONAME, SU_LIBLDAP_SONAME_NEXT, NULL};
	static su_ldap_api api;
	const char *soname = NULL;
	void *handle = su_dl_open(sonames, &soname, why, why_size);

	if (handle == NULL)
		return NULL;
	RESOLVE(initialize, "ldap_initialize");
	RESOLVE(set_option, "ldap_set_option");
	RESOLVE(get_option, "ldap_get_option");
	RESOLVE(start_tls_s, "ldap_start_tls_s");
	RESOLVE(sasl_bind_s, "ldap_sasl_bind_s");
	RESOLVE(search_ext_s, "ldap_search_ext_s");
	RESOLVE(first_entry, "ldap_first_entry");
	RESOLVE(next_entry, "ldap_next_entry");
	RESOLVE(first_attribute, "ldap_first_attribute");
	RESOLVE(next_attribute, "ldap_next_attribute");
	RESOLVE(get_values_len, "ldap_get_values_len");
	RESOLVE(count_values_len, "ldap_count_values_len");
	RESOLVE(value_free_len, "ldap_value_free_len");
	RESOLVE(memfree, "ldap_memfree");
	RESOLVE(ber_free, "ber_free");
	RESOLVE(msgfree, "ldap_msgfree");
	RESOLVE(modify_ext_s, "ldap_modify_ext_s");
	RESOLVE(add_ext_s, "ldap_add_ext_s");
	RESOLVE(delete_ext_s, "ldap_delete_ext_s");
	RESOLVE(whoami_s, "ldap_whoami_s");
	RESOLVE(ber_bvfree, "ber_bvfree");
	RESOLVE(unbind_ext_s, "ldap_unbind_ext_s");
	RESOLVE(err2string, "ldap_err2string");
	RESOLVE(create_page_control, "ldap_create_page_control");
	RESOLVE(parse_result, "ldap_parse_result");
	RESOLVE(control_find, "ldap_control_find");
	RESOLVE(parse_pageresponse_control, "ldap_parse_pageresponse_control");
	RESOLVE(control_free, "ldap_control_free");
	RESOLVE(controls_free, "ldap_controls_free");
	return &api;
missing:
	api = (su_ldap_api){0};
	return NULL; /* the handle stays: unloading libldap is not safe */
}

/* Loaded once, under a lock (a threaded host may call PAM from two
 * threads); a failure is tried again at the next call. */
const su_ldap_api *su_ldap_api_load(char *why, size_t why_size)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static const void *loaded;

	return su_dl_once(&lock, &loaded, load, why, why_size);
}
