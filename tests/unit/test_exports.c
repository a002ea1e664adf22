/* Unit test: the built module exports pam_sm_authenticate and pam_sm_setcred
 * and nothing else (pam_stepup.map). It loads the .so named by
 * $STEPUP_MODULE the way libpam does, and also reads its dynamic symbol
 * table, so a new internal function that leaks out is caught by name.
 * Not linked with libstepup: every symbol it finds comes from the module. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static const char *const exported[] = {
	"pam_sm_authenticate",
	"pam_sm_setcred",
};

/* A sample of the library inside the module: none may be visible. */
static const char *const internal[] = {
	"su_stepup_authenticate", "su_read_file", "su_write_file", "su_kv_parse",
	"su_kv_format", "su_config_load", "su_totp_verify", "su_totp_load",
	"su_base32_decode", "su_normalise_code", "su_audit", "su_audit_escape",
	"su_logf", "su_fail", "su_lock", "su_erase", "su_equal", "su_random",
	"su_parse_u64", "su_valid_username", "su_path_join",
	"pam_sm_open_session", "pam_sm_close_session", "pam_sm_acct_mgmt",
	"pam_sm_chauthtok",
};

static const char *module_path(void)
{
	const char *path = getenv("STEPUP_MODULE");

	if (path == NULL || path[0] == '\0') {
		print_message("# STEPUP_MODULE not set: skipped\n");
		skip();
	}
	return path;
}

static void *open_module(void)
{
	const char *path = module_path();
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (handle == NULL)
		fail_msg("dlopen %s: %s", path, dlerror());
	return handle;
}

static void module_exports_pam_entry_points(void **state)
{
	void *handle;

	(void)state;
	handle = open_module();
	for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++) {
		dlerror();
		if (dlsym(handle, exported[i]) == NULL)
			fail_msg("%s is not exported: %s", exported[i], dlerror());
	}
	dlclose(handle);
}

static void module_hides_internal_symbols(void **state)
{
	void *handle;

	(void)state;
	handle = open_module();
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++) {
		dlerror();
		if (dlsym(handle, internal[i]) != NULL)
			fail_msg("internal symbol %s is exported", internal[i]);
	}
	dlclose(handle);
}

/* The module's file, mapped, for reading its symbol tables. */
struct elf_file {
	const unsigned char *map;
	size_t size;
	const ElfW(Ehdr) *eh;
	const ElfW(Shdr) *sh;
};

static void elf_open(const char *path, struct elf_file *f)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((size_t)st.st_size >= sizeof(*f->eh));
	f->size = (size_t)st.st_size;
	f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(f->map != MAP_FAILED);
	close(fd);
	f->eh = (const ElfW(Ehdr) *)f->map;
	assert_memory_equal(f->eh->e_ident, ELFMAG, SELFMAG);
	/* ElfW() is this process's class; the module must be the same. */
	assert_int_equal(f->eh->e_ident[EI_CLASS], sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32);
	assert_true(f->eh->e_shoff + (size_t)f->eh->e_shnum * sizeof(*f->sh) <= f->size);
	f->sh = (const ElfW(Shdr) *)(f->map + f->eh->e_shoff);
}

/* Call each(sym, name, ctx) for every symbol of the tables of type
 * (SHT_DYNSYM, SHT_SYMTAB); returns how many tables there were. */
static unsigned elf_each_symbol(const struct elf_file *f, unsigned type,
				void (*each)(const ElfW(Sym) *, const char *, void *), void *ctx)
{
	unsigned tables = 0;

	for (unsigned i = 0; i < f->eh->e_shnum; i++) {
		const ElfW(Sym) *syms;
		const char *strtab;

		if (f->sh[i].sh_type != type)
			continue;
		assert_true(f->sh[i].sh_link < f->eh->e_shnum);
		syms = (const ElfW(Sym) *)(f->map + f->sh[i].sh_offset);
		strtab = (const char *)(f->map + f->sh[f->sh[i].sh_link].sh_offset);
		for (size_t j = 0; j < f->sh[i].sh_size / sizeof(*syms); j++)
			each(&syms[j], strtab + syms[j].st_name, ctx);
		tables++;
	}
	return tables;
}

static void elf_close(struct elf_file *f)
{
	munmap((void *)f->map, f->size);
}

/* Every defined, global or weak, function or object in .dynsym must be one
 * of the exported names. */
static void count_export(const ElfW(Sym) *sym, const char *name, void *ctx)
{
	unsigned bind = ELF64_ST_BIND(sym->st_info), type = ELF64_ST_TYPE(sym->st_info);
	unsigned *found = ctx;
	bool ok = false;

	if (sym->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) ||
	    (type != STT_FUNC && type != STT_OBJECT && type != STT_TLS &&
	     type != STT_GNU_IFUNC && type != STT_NOTYPE))
		return;
	if (type == STT_NOTYPE && sym->st_value == 0)
		return; /* version definition names */
	for (size_t k = 0; k < sizeof(exported) / sizeof(exported[0]); k++)
		if (strcmp(name, exported[k]) == 0)
			ok = true;
	if (!ok)
		fail_msg("the module exports \"%s\"", name);
	(*found)++;
}

static void module_dynsym_has_only_pam_entry_points(void **state)
{
	struct elf_file f;
	unsigned found = 0;

	(void)state;
	elf_open(module_path(), &f);
	elf_each_symbol(&f, SHT_DYNSYM, count_export, &found);
	elf_close(&f);
	assert_int_equal(found, sizeof(exported) / sizeof(exported[0]));
}

/* openlog inside a host program steals its identity (every later line of
 * sshd or sudo would say "stepupctl"): the module never imports it. */
static void refuse_openlog(const ElfW(Sym) *sym, const char *name, void *ctx)
{
	(void)ctx;
	if (sym->st_shndx == SHN_UNDEF &&
	    (strcmp(name, "openlog") == 0 || strcmp(name, "closelog") == 0))
		fail_msg("the module imports %s", name);
}

static void module_imports_no_openlog(void **state)
{
	struct elf_file f;

	(void)state;
	elf_open(module_path(), &f);
	elf_each_symbol(&f, SHT_DYNSYM, refuse_openlog, NULL);
	elf_close(&f);
}

/* What only stepupctl runs is not in the module that every sudo loads
 * (the admin library, and the linker's --gc-sections for the rest). */
static const char *const admin_only[] = {
	"su_audit_admin", "su_ga_parse", "su_ga_clear", "su_grace_list", "su_grace_list_free",
	"su_email_send_test", "su_recovery_generate", "su_recovery_import",
	"su_recovery_remove", "su_store_save_user", "su_store_remove_user",
	"su_store_list_users", "su_make_dir", "su_create_file", "su_state_save_record",
	"su_qr_print",
};

static void refuse_admin_symbol(const ElfW(Sym) *sym, const char *name, void *ctx)
{
	(void)ctx;
	if (sym->st_shndx == SHN_UNDEF)
		return;
	for (size_t k = 0; k < sizeof(admin_only) / sizeof(admin_only[0]); k++)
		if (strcmp(name, admin_only[k]) == 0)
			fail_msg("the module defines %s, which only stepupctl runs", name);
}

static void module_defines_no_admin_symbol(void **state)
{
	struct elf_file f;
	unsigned tables;

	(void)state;
	elf_open(module_path(), &f);
	tables = elf_each_symbol(&f, SHT_SYMTAB, refuse_admin_symbol, NULL);
	elf_close(&f);
	if (tables == 0) {
		print_message("# %s is stripped: no symbol table to read\n", module_path());
		skip();
	}
}

/* Loading the module maps neither libcurl nor libssl: they come only with
 * the first mail (src/curlapi.h), not into every sudo. */
static int find_mapped(struct dl_phdr_info *info, size_t size, void *data)
{
	const char **found = data;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

	(void)size;
	if (strncmp(base, "libcurl.so", 10) == 0 || strncmp(base, "libssl.so", 9) == 0)
		*found = name;
	return 0;
}

static void module_loads_no_libcurl_or_libssl(void **state)
{
	const char *found = NULL;
	void *handle;

	(void)state;
	dl_iterate_phdr(find_mapped, &found);
	if (found != NULL)
		fail_msg("%s is mapped before the module is loaded", found);
	handle = open_module();
	dl_iterate_phdr(find_mapped, &found);
	if (found != NULL)
		fail_msg("loading the module mapped %s", found);
	dlclose(handle);
}

/* Nor libldap: only a host with store = ldap loads it, when it first
 * reaches the directory (src/ldapapi.h); the module imports none of its
 * symbols. */
static int find_ldap(struct dl_phdr_info *info, size_t size, void *data)
{
	const char **found = data;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;

	(void)size;
	if (strncmp(base, "libldap", 7) == 0 || strncmp(base, "liblber", 7) == 0)
		*found = name;
	return 0;
}

static void refuse_ldap_import(const ElfW(Sym) *sym, const char *name, void *ctx)
{
	(void)ctx;
	if (sym->st_shndx == SHN_UNDEF &&
	    (strncmp(name, "ldap_", 5) == 0 || strncmp(name, "ber_", 4) == 0))
		fail_msg("the module imports %s (libldap must be loaded only when used)", name);
}

static void module_loads_no_libldap(void **state)
{
	const char *found = NULL;
	struct elf_file f;
	void *handle;

	(void)state;
	elf_open(module_path(), &f);
	elf_each_symbol(&f, SHT_DYNSYM, refuse_ldap_import, NULL);
	elf_close(&f);
	dl_iterate_phdr(find_ldap, &found);
	if (found != NULL)
		fail_msg("%s is mapped before the module is loaded", found);
	handle = open_module();
	dl_iterate_phdr(find_ldap, &found);
	if (found != NULL)
		fail_msg("loading the module mapped %s", found);
	dlclose(handle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_exports_pam_entry_points),
		cmocka_unit_test(module_hides_internal_symbols),
		cmocka_unit_test(module_dynsym_has_only_pam_entry_points),
		cmocka_unit_test(module_imports_no_openlog),
		cmocka_unit_test(module_defines_no_admin_symbol),
		cmocka_unit_test(module_loads_no_libcurl_or_libssl),
		cmocka_unit_test(module_loads_no_libldap),
	};

	return cmocka_run_group_tests_name("exports", tests, NULL, NULL);
}
