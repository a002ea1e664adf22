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

/* Every defined, global or weak, function or object in .dynsym must be one
 * of the exported names. */
static void module_dynsym_has_only_pam_entry_points(void **state)
{
	const char *path;
	const unsigned char *map;
	const ElfW(Ehdr) *eh;
	const ElfW(Shdr) *sh;
	unsigned found = 0;
	struct stat st;
	int fd;

	(void)state;
	path = module_path();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true((size_t)st.st_size >= sizeof(*eh));
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	close(fd);
	eh = (const ElfW(Ehdr) *)map;
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	/* ElfW() is this process's class; the module must be the same. */
	assert_int_equal(eh->e_ident[EI_CLASS], sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32);
	assert_true(eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) <= (size_t)st.st_size);
	sh = (const ElfW(Shdr) *)(map + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const ElfW(Sym) *syms;
		const char *strtab;
		size_t n;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		assert_true(sh[i].sh_link < eh->e_shnum);
		syms = (const ElfW(Sym) *)(map + sh[i].sh_offset);
		strtab = (const char *)(map + sh[sh[i].sh_link].sh_offset);
		n = sh[i].sh_size / sizeof(*syms);
		for (size_t j = 0; j < n; j++) {
			unsigned bind = ELF64_ST_BIND(syms[j].st_info);
			unsigned type = ELF64_ST_TYPE(syms[j].st_info);
			const char *name = strtab + syms[j].st_name;
			bool ok = false;

			if (syms[j].st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) ||
			    (type != STT_FUNC && type != STT_OBJECT && type != STT_TLS &&
			     type != STT_GNU_IFUNC && type != STT_NOTYPE))
				continue;
			if (type == STT_NOTYPE && syms[j].st_value == 0)
				continue; /* version definition names */
			for (size_t k = 0; k < sizeof(exported) / sizeof(exported[0]); k++)
				if (strcmp(name, exported[k]) == 0)
					ok = true;
			if (!ok)
				fail_msg("%s exports \"%s\"", path, name);
			found++;
		}
	}
	munmap((void *)map, (size_t)st.st_size);
	assert_int_equal(found, sizeof(exported) / sizeof(exported[0]));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_exports_pam_entry_points),
		cmocka_unit_test(module_hides_internal_symbols),
		cmocka_unit_test(module_dynsym_has_only_pam_entry_points),
		cmocka_unit_test(module_loads_no_libcurl_or_libssl),
	};

	return cmocka_run_group_tests_name("exports", tests, NULL, NULL);
}
