// The seed 004 frontend's meetings API: POST /api/meetings registers a
// meeting with its creator, GET /api/meetings/ID reads it; the creator becomes the host of
// the room of that id. Pure: parsing the request body and rendering the answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::protocol {

struct meeting {
  std::string id;          // also the room id
  std::string creator_id;  // the creator's user id
  std::string description;
  int64_t starts_at = 0;   // Unix ms (0: not given)
  int64_t created_at = 0;  // Unix ms
};

// POST /api/meetings { id, userId, description?, startsAt? }: `startsAt` a number (ms) or
// an ISO 8601 string (kept as given is not needed: only numbers are kept, strings as 0).
// nullopt with `error` naming the field when the body is not such an object.
std::optional<meeting> parse_meeting_request(std::string_view body, std::string& error);

// { success: true, meeting: { id, creatorId, description, startsAt?, createdAt } }
std::string meeting_json(const meeting& m);
// { success: false, error: message }
std::string meeting_error_json(std::string_view message);

} // namespace chorus::protocol
