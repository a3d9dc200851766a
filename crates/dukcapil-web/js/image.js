// Loading a file into an <img>, telling a broken file from a page whose Content Security
// Policy blocks `blob:` images (then the file is not at fault, and another decoder may work).

/**
 * `{ img }` once the header is read, `{ error, blocked }` if the load fails (`blocked`: a
 * `securitypolicyviolation` for the blob URL came with it), or `null` outside a window.
 */
export function loadImage(blob) {
  if (typeof document === 'undefined' || typeof Image === 'undefined') return null;
  const url = URL.createObjectURL(blob);
  const img = new Image();
  let blocked = false;
  // Browsers report a blocked blob: URL as "blob" (the scheme only), some in full.
  const onViolation = (e) => {
    if (String(e.blockedURI).startsWith('blob')) blocked = true;
  };
  document.addEventListener('securitypolicyviolation', onViolation);
  return new Promise((resolve) => {
    const done = (result) => {
      document.removeEventListener('securitypolicyviolation', onViolation);
      URL.revokeObjectURL(url);
      resolve(result);
    };
    img.onload = () => done({ img });
    // The violation event is queued as its own task: let it run before deciding.
    img.onerror = (error) => setTimeout(() => done({ error, blocked }), 0);
    img.src = url;
  });
}
