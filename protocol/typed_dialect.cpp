#include "protocol/typed_dialect.hpp"

#include <variant>

namespace chorus::protocol {

std::string typed_exchange::stage(request_body body) {
  std::lock_guard lock(mutex_);
  std::string text = "typed-" + std::to_string(next_++);
  request r;
  r.meta.type = std::string(
    std::visit([](const auto& b) { return std::decay_t<decltype(b)>::counted_as; }, body));
  r.meta.request_id = text;
  r.meta.has_request_id = true;
  r.body = std::move(body);
  staged_.emplace(text, std::move(r));
  return text;
}

std::optional<typed_exchange::answer> typed_exchange::take(const std::string& text) {
  std::lock_guard lock(mutex_);
  auto it = answers_.find(text);
  if (it == answers_.end())
    return std::nullopt;
  auto a = std::move(it->second);
  answers_.erase(it);
  return a;
}

std::optional<request> typed_exchange::staged(std::string_view text) {
  std::lock_guard lock(mutex_);
  auto it = staged_.find(text);
  if (it == staged_.end())
    return std::nullopt;
  auto r = std::move(it->second);
  staged_.erase(it);
  return r;
}

void typed_exchange::answered(const std::string& text, answer a) {
  std::lock_guard lock(mutex_);
  answers_.insert_or_assign(text, std::move(a));
}

namespace {

class typed_dialect final : public dialect {
public:
  explicit typed_dialect(std::shared_ptr<typed_exchange> exchange) : exchange_(std::move(exchange)) {}

  std::string_view name() const noexcept override { return "typed"; }

  decode_result decode(std::string_view text) override {
    decode_result r;
    if (auto staged = exchange_->staged(text)) {
      r.ok = true;
      r.kind = decode_kind::request;
      r.req = std::move(*staged);
      r.meta = r.req.meta;
      return r;
    }
    r.kind = decode_kind::dropped;
    r.error = {error_code::invalid_message, "no staged request for this text"};
    return r;
  }

  std::string encode_reply(const request_meta& meta, const reply_body& reply) override {
    if (!meta.has_request_id)
      return {};
    exchange_->answered(meta.request_id, {true, reply, {}});
    return meta.request_id;
  }

  std::string encode_error(const request_meta& meta, const error_info& err) override {
    if (!meta.has_request_id)
      return {};
    exchange_->answered(meta.request_id, {false, {}, err});
    return meta.request_id;
  }

  std::string encode_event(const event_body&) override { return {}; }

private:
  std::shared_ptr<typed_exchange> exchange_;
};

} // namespace

std::unique_ptr<dialect> make_typed_dialect(std::shared_ptr<typed_exchange> exchange) {
  return std::make_unique<typed_dialect>(std::move(exchange));
}

} // namespace chorus::protocol
