// Errors as values: every fallible call on the I/O path returns Result<T>.
// Error carries an errno-style code (so it can be handed to the kernel as-is)
// and one human-readable line naming what failed.
#pragma once
#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace iser {

struct Error {
    int code = EIO;       // positive errno value
    std::string message;  // one line, no trailing newline
};

inline Error make_error(int code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(v_); }
    Error&& take_error() { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}
    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return err_; }
    Error&& take_error() { return std::move(err_); }

private:
    Error err_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace iser

// Propagate an error from an expression returning Result<...>.
#define ISER_TRY(expr)                                   \
    do {                                                 \
        auto iser_try_r_ = (expr);                       \
        if (!iser_try_r_.ok()) return iser_try_r_.take_error(); \
    } while (0)
