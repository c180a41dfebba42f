package vinfringe

import (
	"math"

	"github.com/libvinfringe/vinfringe/bindings/go/internal/capi"
)

// ImageFormat is the file format of a thumbnail (vi_image_format).
type ImageFormat int32

// Image formats.
const (
	ImageJPEG ImageFormat = 1 // the default: small
	ImagePNG  ImageFormat = 2 // lossless, larger
)

// ThumbnailOptions are vi_thumbnail_options; zero fields mean the library's defaults.
type ThumbnailOptions struct {
	MaxSide int         // longest side in pixels, 16..4096 (320); never enlarged
	Format  ImageFormat // ImageJPEG (default) or ImagePNG
}

// Thumbnail decodes the frame of the video at path nearest at (seconds on the video's timeline,
// as Segment and Embedding.Timestamps use) and returns it as a JPEG or PNG file, shown as a
// player would (aspect ratio and rotation applied), with the time of that frame in seconds.
// Safe from any goroutine. Needs libvinfringe 0.4.
func Thumbnail(path string, at float64, o *ThumbnailOptions) ([]byte, float64, error) {
	if versionErr != nil {
		return nil, 0, versionErr
	}
	var side, format int32
	if o != nil {
		if o.MaxSide > math.MaxInt32 || o.MaxSide < 0 {
			return nil, 0, &Error{Code: ErrInvalidArg, Message: "MaxSide is out of range"}
		}
		side, format = int32(o.MaxSide), int32(o.Format)
	}
	img, us, f := capi.VideoThumbnail(path, int64(math.Round(at*1e6)), side, format)
	if f != nil {
		return nil, 0, wrap(f)
	}
	return img, float64(us) / 1e6, nil
}
