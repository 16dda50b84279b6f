/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acl_parse_xattr(): the raw system.posix_acl_access value of a file the site owner may own
 * (and so set any ACL on); the kernel validates it, the parser must not trust that. */

#include <errno.h>

#include "fuzz.h"
#include "sys/safe-fs.h"
#include "util/util.h"

/* linux/posix_acl_xattr.h: a 4-byte version header, then 8-byte {tag, perm, id} entries. */
#define ACL_XATTR_HEADER 4u
#define ACL_XATTR_ENTRY 8u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AclItem *items = NULL;
        size_t n = SIZE_MAX;

        int r = acl_parse_xattr(data, size, &items, &n);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0)
                return 0;

        FUZZ_CHECK(size >= ACL_XATTR_HEADER && (size - ACL_XATTR_HEADER) % ACL_XATTR_ENTRY == 0);
        FUZZ_CHECK((n == 0) == !items);
        /* Either every entry, or none when the ACL is only the three mode-bit entries. */
        FUZZ_CHECK(n == 0 || n == (size - ACL_XATTR_HEADER) / ACL_XATTR_ENTRY);
        bool named = false;
        for (size_t i = 0; i < n; i++) {
                FUZZ_CHECK(items[i].tag <= ACL_TAG_OTHER);
                FUZZ_CHECK(items[i].perm <= 7);
                named = named || items[i].tag == ACL_TAG_USER || items[i].tag == ACL_TAG_GROUP ||
                        items[i].tag == ACL_TAG_MASK;
        }
        FUZZ_CHECK(n == 0 || named);
        free(items);
        return 0;
}
