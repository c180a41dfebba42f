/* How the libtorch code turns exceptions into a status and a message: every extern "C" entry
 * point runs its body inside vi_torch::guarded, so no C++ exception ever leaves the library, and
 * libtorch's own warnings (TORCH_WARN, printed on stderr by default) go to the library's log. */
#ifndef VI_BACKBONE_GUARD_HPP
#define VI_BACKBONE_GUARD_HPP

#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "../common/common.h"

namespace vi_torch {

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

/* libtorch's warnings as VI_LOG_WARN messages. c10's handler is per thread: the guard below
 * installs it for the call only, so a host that uses libtorch itself keeps its own. */
class LogWarnings : public c10::WarningHandler {
  public:
    void process(const c10::SourceLocation &, const std::string &msg, const bool) override {
        const size_t nl = msg.find('\n');
        vi__log(VI_LOG_WARN, "libtorch: %s", msg.substr(0, nl).c_str());
    }
};

inline c10::WarningHandler *log_warnings() {
    static LogWarnings handler;
    return &handler;
}

template <typename F>
vi_status guarded(const char *prefix, const char *what, vi_status bad, F &&body) {
    c10::Warning::WarningHandlerGuard warnings(log_warnings());
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

} // namespace vi_torch

#endif
