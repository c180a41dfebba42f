/* How the shim's C++ files turn exceptions into a status and a message: every extern "C" entry
 * point runs its body inside vi_shim::guarded, so no C++ exception ever leaves the library. */
#ifndef VI_SHIM_GUARD_HPP
#define VI_SHIM_GUARD_HPP

#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "../common/common.h"

namespace vi_shim {

/* Bad weights given at creation: reported with the caller's `bad` status (VI_E_BAD_MODEL). */
struct ModelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/* Bad arguments to a call: reported as VI_E_INVALID_ARG. */
struct ArgError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/* "<prefix><what>: <first line of reason>" (libtorch appends a backtrace after the first line). */
inline vi_status fail_from(vi_status status, const char *prefix, const char *what,
                           const char *reason) {
    std::string r(reason ? reason : "");
    const size_t nl = r.find('\n');
    if (nl != std::string::npos) {
        r.resize(nl);
    }
    return vi__fail(status, "%s%s: %s", prefix, what, r.c_str());
}

template <typename F>
vi_status guarded(const char *prefix, const char *what, vi_status bad, F &&body) {
    try {
        return body();
    } catch (const ModelError &e) {
        return fail_from(bad, prefix, what, e.what());
    } catch (const ArgError &e) {
        return fail_from(VI_E_INVALID_ARG, prefix, what, e.what());
    } catch (const c10::Error &e) {
        return fail_from(VI_E_INTERNAL, prefix, what, e.what_without_backtrace());
    } catch (const std::bad_alloc &) {
        return fail_from(VI_E_NOMEM, prefix, what, "out of memory");
    } catch (const std::exception &e) {
        return fail_from(VI_E_INTERNAL, prefix, what, e.what());
    } catch (...) {
        return fail_from(VI_E_INTERNAL, prefix, what, "unknown C++ exception");
    }
}

} // namespace vi_shim

#endif
