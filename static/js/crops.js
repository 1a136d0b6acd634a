// Face crops drawn by the browser from a Commons thumbnail: CSS backgrounds, no server work.
// A box is in fractions (0..1) of the full image (DESIGN.md, "Coordinates").

// Room around the face, as a share of its size, so a crop shows hair and chin.
const MARGIN = 0.35;

/**
 * Show the face `box` of an image (`width` × `height` pixels, only their ratio matters)
 * in the square element `element`, from the thumbnail at `url`.
 */
export function placeCrop(element, url, box, width, height) {
  const w = width || 1000;
  const h = height || 1000;
  const side = element.clientWidth || element.getBoundingClientRect().width || 160;
  const faceW = box.width * w;
  const faceH = box.height * h;
  const crop = Math.max(faceW, faceH) * (1 + 2 * MARGIN);
  const centreX = (box.left + box.width / 2) * w;
  const centreY = (box.top + box.height / 2) * h;
  const scale = side / crop;
  element.style.backgroundImage = `url("${url.replace(/"/g, "%22")}")`;
  element.style.backgroundSize = `${w * scale}px ${h * scale}px`;
  element.style.backgroundPosition =
    `${-(centreX - crop / 2) * scale}px ${-(centreY - crop / 2) * scale}px`;
}

/** Position `element` over its photo as the face box `box` (percentages: it scales). */
export function placeBox(element, box) {
  element.style.left = `${box.left * 100}%`;
  element.style.top = `${box.top * 100}%`;
  element.style.width = `${box.width * 100}%`;
  element.style.height = `${box.height * 100}%`;
}

/** Every `[data-thumb]` element below `root`, drawn from its data attributes. */
export function placeAllCrops(root = document) {
  root.querySelectorAll("[data-thumb]").forEach((element) => {
    const d = element.dataset;
    const box = {
      left: parseFloat(d.left), top: parseFloat(d.top),
      width: parseFloat(d.width), height: parseFloat(d.height),
    };
    placeCrop(element, d.thumb, box, parseFloat(d.imageWidth), parseFloat(d.imageHeight));
  });
}
