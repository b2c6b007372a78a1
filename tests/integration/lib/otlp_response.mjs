// otlp_response.mjs — decode an OTLP/HTTP ExportProfilesServiceResponse body, protobuf
// (by hand, pbwire.mjs) or JSON (partialSuccess / partial_success), into the same
// {"partial_success": {"rejected_profiles": "N", "error_message": "..."}} JSON that
// send_grpc.mjs prints, so the shell checks read both transports alike.
//
// CLI: node otlp_response.mjs BODY_FILE
import { readFileSync } from 'node:fs';
import { decodeResponse } from './send_grpc.mjs';
import { isJson } from './otlp_time.mjs';

const body = readFileSync(process.argv[2]);
let out;
try {
  // A protobuf response whose first length byte is 0x7b ('{') after the 0x0a tag looks like
  // JSON: only a body that parses as JSON is read as JSON.
  let json = false;
  if (body.length && isJson(body)) {
    try {
      JSON.parse(body.toString('utf8'));
      json = true;
    } catch {
      json = false;
    }
  }
  if (body.length === 0) out = { partial_success: null };
  else if (json) {
    const j = JSON.parse(body.toString('utf8'));
    const ps = j.partialSuccess ?? j.partial_success ?? null;
    out = {
      partial_success: ps && {
        rejected_profiles: String(ps.rejectedProfiles ?? ps.rejected_profiles ?? '0'),
        error_message: ps.errorMessage ?? ps.error_message ?? '',
      },
    };
  } else out = decodeResponse(body);
} catch (e) {
  out = { partial_success: null, decode_error: e.message, body: body.toString('latin1').slice(0, 300) };
}
console.log(JSON.stringify(out));
