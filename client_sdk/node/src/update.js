// Updates (API.md, "Updates"): the answer of POST /api/v1/updates as an Update,
// its UP1 manifest verified with the pinned keys, and a download that resumes
// a partial file (HTTP Range) and names the file only once its size and
// SHA-256 agree with the manifest — a wrong file never lands.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { CertificateInvalid, LicenseError, ServerUnavailable, errorFor } from "./errors.js";
import { InvalidToken, updateManifest } from "./verify.js";

function bad(reason) {
  return new CertificateInvalid(`The update did not verify (${reason}); nothing was kept.`, {
    code: "CERTIFICATE_INVALID",
  });
}

async function sizeOf(path) {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (err.code === "ENOENT") return 0;
    throw err;
  }
}

async function sha256Of(path) {
  const digest = createHash("sha256");
  for await (const chunk of createReadStream(path)) digest.update(chunk);
  return digest.digest("hex");
}

async function problemOf(response) {
  try {
    const value = JSON.parse(Buffer.from(await response.arrayBuffer()).subarray(0, 65536).toString("utf-8"));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** A newer release this licence may have; download(path) fetches it. */
export class Update {
  constructor(fields, transfer) {
    Object.assign(this, fields);
    Object.defineProperty(this, "transfer", { value: transfer, enumerable: false });
    Object.freeze(this);
  }

  /**
   * Download to path. A path + ".part" left by an interrupted download is
   * resumed. The file gets its name only after its size and SHA-256 match the
   * verified manifest; otherwise the partial file is removed and
   * CertificateInvalid thrown. Server errors (an expired link: LINK_EXPIRED,
   * check again for a fresh one) throw like the SDK's others; the partial file
   * is kept for the next try. Resolves to path.
   */
  async download(path) {
    const part = `${path}.part`;
    const { retries } = this.transfer;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fetchInto(part);
        break;
      } catch (err) {
        if (!(err instanceof ServerUnavailable) || attempt >= retries) throw err;
      }
    }
    const size = await sizeOf(part);
    if (size !== this.size || (await sha256Of(part)) !== this.sha256) {
      await rm(part, { force: true });
      throw bad("the file's size or SHA-256 is not the manifest's");
    }
    await rename(part, path);
    return path;
  }

  async fetchInto(part) {
    let have = await sizeOf(part);
    if (have > this.size) {
      await rm(part, { force: true });
      have = 0;
    }
    if (have === this.size) return;
    const { timeoutMs, userAgent } = this.transfer;
    // timeoutMs without a byte (not for the whole file): a large file may take long
    const controller = new AbortController();
    let timer = null;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    arm();
    let written = 0;
    try {
      let response;
      try {
        response = await fetch(this.downloadUrl, {
          redirect: "follow", // to a pre-signed URL or the vendor's site
          signal: controller.signal,
          headers: { "User-Agent": userAgent, ...(have ? { Range: `bytes=${have}-` } : {}) },
        });
      } catch (err) {
        throw new ServerUnavailable(`The download could not start: ${err.cause?.code ?? err.message}`, { cause: err });
      }
      if (response.status === 416) {
        await rm(part, { force: true }); // nothing beyond what we have: start again
        throw new ServerUnavailable("The download could not resume.", { status: 416 });
      }
      if (response.status !== 200 && response.status !== 206) {
        throw errorFor(response.status, await problemOf(response));
      }
      const append = have > 0 && response.status === 206;
      written = append ? have : 0;
      const out = await open(part, append ? "a" : "w");
      try {
        for await (const chunk of response.body) {
          if (written + chunk.length > this.size) {
            await out.write(chunk.subarray(0, this.size - written + 1)); // too long: refused below
            written = this.size + 1;
            break;
          }
          await out.write(chunk);
          written += chunk.length;
          arm();
        }
      } catch (err) {
        throw new ServerUnavailable(`The download was interrupted: ${err.cause?.code ?? err.message}`, { cause: err });
      } finally {
        await out.close();
      }
    } finally {
      clearTimeout(timer);
    }
    if (written < this.size) throw new ServerUnavailable(`The download stopped after ${written} bytes.`);
  }
}

/** The update object of a /updates answer, its manifest verified with keys
 * and agreeing with it (product, version, SHA-256, size). */
export function fromAnswer(answer, product, keys, transfer) {
  let claims;
  try {
    claims = updateManifest(answer.manifest, keys);
  } catch (err) {
    if (err instanceof InvalidToken) throw bad(`manifest: ${err.message}`);
    throw err;
  }
  const { version, sha256, size, download_url: url } = answer;
  if (claims.prod !== product) throw bad("the manifest is for another product");
  if (claims.ver !== version) throw bad("the manifest names another version");
  if (claims.sha256 !== sha256 || claims.size !== size) throw bad("the manifest names another file");
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    throw new LicenseError("The server's update answer has no usable download_url.");
  }
  return new Update(
    {
      version,
      channel: claims.ch,
      releasedAt: new Date(claims.rel * 1000),
      notes: typeof answer.notes === "string" ? answer.notes : null,
      downloadUrl: url,
      size,
      sha256,
      manifest: answer.manifest,
      platform: claims.plat,
      arch: claims.arch,
    },
    transfer,
  );
}
