//! The few FFmpeg objects the decoder uses, each owning its pointer and freeing it on drop.
//! Every `unsafe` block here calls FFmpeg's C API as its documentation says, on pointers these
//! types own and that are non-null (checked where they are made).

use std::ffi::{c_int, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use ffmpeg_sys_next as ff;

/// `AVERROR(EAGAIN)`.
pub const EAGAIN: c_int = ff::AVERROR(libc::EAGAIN);

/// FFmpeg's words for an error code.
pub fn error_text(code: c_int) -> String {
    let mut buf = [0 as std::ffi::c_char; 128];
    // SAFETY: the buffer is writable and its length is passed.
    let r = unsafe { ff::av_strerror(code, buf.as_mut_ptr(), buf.len()) };
    if r < 0 {
        return format!("error {code}");
    }
    // SAFETY: av_strerror wrote a NUL-terminated string into the buffer.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// Errors and worse only, on standard error (the parent keeps its tail for the message).
pub fn quiet_logs() {
    // SAFETY: sets a global level; no pointers.
    unsafe { ff::av_log_set_level(ff::AV_LOG_ERROR) }
}

/// An opened container.
pub struct Input {
    ctx: *mut ff::AVFormatContext,
}

impl Input {
    /// Opens `path` as a local file (`file:` protocol only) through the demuxers in `formats`
    /// (FFmpeg's `format_whitelist`) and reads its stream information.
    pub fn open(path: &Path, formats: &str) -> Result<Input, String> {
        let mut url = b"file:".to_vec();
        url.extend_from_slice(path.as_os_str().as_bytes());
        let url = CString::new(url).map_err(|_| "the path has a NUL byte".to_string())?;
        let mut options: *mut ff::AVDictionary = ptr::null_mut();
        for (k, v) in [("protocol_whitelist", "file"), ("format_whitelist", formats)] {
            let (k, v) = (cstring(k)?, cstring(v)?);
            // SAFETY: key and value are NUL-terminated; the dictionary pointer is ours.
            unsafe { ff::av_dict_set(&mut options, k.as_ptr(), v.as_ptr(), 0) };
        }
        let mut ctx: *mut ff::AVFormatContext = ptr::null_mut();
        // SAFETY: ctx starts null (FFmpeg allocates it); url and options are valid.
        let r = unsafe { ff::avformat_open_input(&mut ctx, url.as_ptr(), ptr::null(), &mut options) };
        // SAFETY: frees what is left of the dictionary (null is fine).
        unsafe { ff::av_dict_free(&mut options) };
        if r < 0 || ctx.is_null() {
            return Err(error_text(r));
        }
        let input = Input { ctx };
        // SAFETY: ctx is an opened input.
        let r = unsafe { ff::avformat_find_stream_info(ctx, ptr::null_mut()) };
        if r < 0 {
            return Err(format!("no stream information: {}", error_text(r)));
        }
        Ok(input)
    }

    /// The first video stream (as the reference chooses), by index.
    pub fn first_video_stream(&self) -> Option<Stream<'_>> {
        // SAFETY: streams holds nb_streams valid stream pointers while the context lives.
        let streams =
            unsafe { std::slice::from_raw_parts((*self.ctx).streams, (*self.ctx).nb_streams as usize) };
        streams.iter().enumerate().find_map(|(i, s)| {
            // SAFETY: each stream and its codec parameters are valid.
            let par = unsafe { (**s).codecpar };
            (!par.is_null() && unsafe { (*par).codec_type } == ff::AVMediaType::AVMEDIA_TYPE_VIDEO)
                .then_some(Stream { index: i as c_int, stream: *s, _input: self })
        })
    }

    /// The container's duration in seconds, when it says.
    pub fn duration_seconds(&self) -> Option<f64> {
        // SAFETY: a field of the opened context.
        let d = unsafe { (*self.ctx).duration };
        (d != ff::AV_NOPTS_VALUE && d >= 0).then(|| d as f64 / f64::from(ff::AV_TIME_BASE))
    }

    /// Reads the next packet into `packet`; `false` at the end or on any read error (as the
    /// reference, which stops at the first failed read).
    pub fn read(&mut self, packet: &mut Packet) -> bool {
        packet.unref();
        // SAFETY: both pointers are valid and owned.
        unsafe { ff::av_read_frame(self.ctx, packet.ptr) == 0 }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // SAFETY: closes what avformat_open_input opened; sets the pointer to null.
        unsafe { ff::avformat_close_input(&mut self.ctx) }
    }
}

fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{s:?} has a NUL byte"))
}

/// A stream of an [`Input`].
pub struct Stream<'a> {
    /// Its index in the container.
    pub index: c_int,
    stream: *mut ff::AVStream,
    _input: &'a Input,
}

impl Stream<'_> {
    /// Its codec parameters.
    pub fn par(&self) -> &ff::AVCodecParameters {
        // SAFETY: non-null (checked when found), lives as long as the input.
        unsafe { &*(*self.stream).codecpar }
    }

    /// The average frame rate, else the base rate (the reference's choice), as a fraction.
    pub fn frame_rate(&self) -> (c_int, c_int) {
        // SAFETY: fields of a valid stream.
        let (avg, base) = unsafe { ((*self.stream).avg_frame_rate, (*self.stream).r_frame_rate) };
        if avg.num == 0 || avg.den == 0 {
            (base.num, base.den)
        } else {
            (avg.num, avg.den)
        }
    }

    /// Its time base.
    pub fn time_base(&self) -> f64 {
        // SAFETY: a field of a valid stream.
        let tb = unsafe { (*self.stream).time_base };
        if tb.den == 0 {
            0.0
        } else {
            f64::from(tb.num) / f64::from(tb.den)
        }
    }

    /// Its duration in seconds, when it says.
    pub fn duration_seconds(&self) -> Option<f64> {
        // SAFETY: a field of a valid stream.
        let d = unsafe { (*self.stream).duration };
        let tb = self.time_base();
        (d != ff::AV_NOPTS_VALUE && d >= 0 && tb > 0.0).then_some(d as f64 * tb)
    }

    /// The codec's short name.
    pub fn codec_name(&self) -> String {
        // SAFETY: avcodec_get_name returns a static NUL-terminated string for any id.
        unsafe { CStr::from_ptr(ff::avcodec_get_name(self.par().codec_id)) }.to_string_lossy().into_owned()
    }

    /// The codec's extradata.
    pub fn extradata(&self) -> &[u8] {
        let par = self.par();
        if par.extradata.is_null() || par.extradata_size <= 0 {
            return &[];
        }
        // SAFETY: extradata holds extradata_size bytes.
        unsafe { std::slice::from_raw_parts(par.extradata, par.extradata_size as usize) }
    }
}

/// A packet, reused for every read.
pub struct Packet {
    ptr: *mut ff::AVPacket,
}

impl Packet {
    /// A new empty packet.
    pub fn new() -> Result<Packet, String> {
        // SAFETY: allocation; checked for null.
        let ptr = unsafe { ff::av_packet_alloc() };
        if ptr.is_null() {
            return Err("out of memory".into());
        }
        Ok(Packet { ptr })
    }

    fn unref(&mut self) {
        // SAFETY: a valid packet.
        unsafe { ff::av_packet_unref(self.ptr) }
    }

    /// Its fields.
    pub fn get(&self) -> &ff::AVPacket {
        // SAFETY: a valid packet.
        unsafe { &*self.ptr }
    }

    /// Its bytes.
    pub fn data(&self) -> &[u8] {
        let p = self.get();
        if p.data.is_null() || p.size <= 0 {
            return &[];
        }
        // SAFETY: data holds size bytes.
        unsafe { std::slice::from_raw_parts(p.data, p.size as usize) }
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        // SAFETY: frees the packet and its data.
        unsafe { ff::av_packet_free(&mut self.ptr) }
    }
}

/// A decoded frame, reused.
pub struct Frame {
    ptr: *mut ff::AVFrame,
}

impl Frame {
    /// A new empty frame.
    pub fn new() -> Result<Frame, String> {
        // SAFETY: allocation; checked for null.
        let ptr = unsafe { ff::av_frame_alloc() };
        if ptr.is_null() {
            return Err("out of memory".into());
        }
        Ok(Frame { ptr })
    }

    /// An RGB24 frame of `width` × `height` with packed rows (alignment 1, as the reference).
    pub fn rgb24(width: c_int, height: c_int) -> Result<Frame, String> {
        let f = Frame::new()?;
        // SAFETY: fields of a fresh frame, then its buffer allocated by FFmpeg.
        let r = unsafe {
            (*f.ptr).width = width;
            (*f.ptr).height = height;
            (*f.ptr).format = ff::AVPixelFormat::AV_PIX_FMT_RGB24 as c_int;
            ff::av_frame_get_buffer(f.ptr, 1)
        };
        if r < 0 {
            return Err(error_text(r));
        }
        Ok(f)
    }

    /// Its fields.
    pub fn get(&self) -> &ff::AVFrame {
        // SAFETY: a valid frame.
        unsafe { &*self.ptr }
    }

    /// The rows of plane 0, each `row_bytes` long: one slice for them all when they are packed
    /// (as in the RGB24 frames made by [`Frame::rgb24`]).
    pub fn rows(&self, row_bytes: usize) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        let f = self.get();
        let (data, stride, h) = (f.data[0], f.linesize[0] as isize, f.height.max(0) as isize);
        if stride == row_bytes as isize {
            // SAFETY: plane 0 holds `height` packed rows of `row_bytes` bytes.
            return Box::new(std::iter::once(unsafe {
                std::slice::from_raw_parts(data, row_bytes * h as usize)
            }));
        }
        Box::new((0..h).map(move |y| {
            // SAFETY: plane 0 holds `height` rows of `linesize` ≥ row_bytes bytes.
            unsafe { std::slice::from_raw_parts(data.offset(y * stride), row_bytes) }
        }))
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // SAFETY: frees the frame and its buffers.
        unsafe { ff::av_frame_free(&mut self.ptr) }
    }
}

/// A video decoder for one stream, single-threaded.
pub struct Decoder {
    ctx: *mut ff::AVCodecContext,
}

impl Decoder {
    /// Opens the decoder FFmpeg has for the stream's codec.
    pub fn open(stream: &Stream<'_>) -> Result<Decoder, String> {
        let par = stream.par();
        // SAFETY: looks up a static decoder description.
        let codec = unsafe { ff::avcodec_find_decoder(par.codec_id) };
        if codec.is_null() {
            return Err(format!("no decoder for {}", stream.codec_name()));
        }
        // SAFETY: allocation; checked for null.
        let ctx = unsafe { ff::avcodec_alloc_context3(codec) };
        if ctx.is_null() {
            return Err("out of memory".into());
        }
        let d = Decoder { ctx };
        // SAFETY: ctx and the parameters are valid; thread_count set before opening.
        let r = unsafe { ff::avcodec_parameters_to_context(ctx, par) };
        if r < 0 {
            return Err(error_text(r));
        }
        // SAFETY: as above.
        let r = unsafe {
            (*ctx).thread_count = 1;
            ff::avcodec_open2(ctx, codec, ptr::null_mut())
        };
        if r < 0 {
            return Err(format!("cannot open the decoder: {}", error_text(r)));
        }
        Ok(d)
    }

    /// Whether the decoder may drop the next packets' frames when nothing refers to them.
    pub fn drop_non_reference(&mut self, yes: bool) {
        let level = if yes { ff::AVDiscard::AVDISCARD_NONREF } else { ff::AVDiscard::AVDISCARD_DEFAULT };
        // SAFETY: a field of an open decoder, read when the next packet is decoded.
        unsafe { (*self.ctx).skip_frame = level }
    }

    /// Sends a packet (`None`: the end of the stream). FFmpeg's error code on failure.
    pub fn send(&mut self, packet: Option<&Packet>) -> Result<(), c_int> {
        let p = packet.map_or(ptr::null(), |p| p.ptr.cast_const());
        // SAFETY: an open decoder; the packet is valid or null (drain).
        let r = unsafe { ff::avcodec_send_packet(self.ctx, p) };
        if r < 0 {
            Err(r)
        } else {
            Ok(())
        }
    }

    /// The next decoded frame into `frame`: `Ok(true)`, `Ok(false)` when it needs more input
    /// or has no more, or FFmpeg's error code.
    pub fn receive(&mut self, frame: &mut Frame) -> Result<bool, c_int> {
        // SAFETY: an open decoder and a valid frame.
        let r = unsafe { ff::avcodec_receive_frame(self.ctx, frame.ptr) };
        match r {
            0 => Ok(true),
            r if r == EAGAIN || r == ff::AVERROR_EOF => Ok(false),
            r => Err(r),
        }
    }

    /// Forgets every frame held (after a drain), ready for a new keyframe.
    pub fn flush(&mut self) {
        // SAFETY: an open decoder.
        unsafe { ff::avcodec_flush_buffers(self.ctx) }
    }

    /// The pixel format of the frames it outputs.
    pub fn pix_fmt(&self) -> ff::AVPixelFormat {
        // SAFETY: a field of an open decoder.
        unsafe { (*self.ctx).pix_fmt }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: frees the context (closing the decoder).
        unsafe { ff::avcodec_free_context(&mut self.ctx) }
    }
}

/// Converts decoded frames to RGB24 at a fixed size with swscale's area filter and its default
/// (BT.601) coefficients — the reference's `sws_getContext(…, SWS_AREA, …)`.
pub struct Scaler {
    ctx: *mut ff::SwsContext,
    out: Frame,
    width: c_int,
    height: c_int,
}

impl Scaler {
    /// A converter to `width` × `height`.
    pub fn new(width: c_int, height: c_int) -> Result<Scaler, String> {
        Ok(Scaler { ctx: ptr::null_mut(), out: Frame::rgb24(width, height)?, width, height })
    }

    /// Converts `frame` (decoded as `format`); the result stays in [`Scaler::output`].
    pub fn convert(&mut self, frame: &Frame, format: ff::AVPixelFormat) -> Result<(), String> {
        let f = frame.get();
        // SAFETY: reuses or replaces the context for this input size and format.
        self.ctx = unsafe {
            ff::sws_getCachedContext(
                self.ctx,
                f.width,
                f.height,
                format,
                self.width,
                self.height,
                ff::AVPixelFormat::AV_PIX_FMT_RGB24,
                ff::SWS_AREA,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        if self.ctx.is_null() {
            return Err(format!("cannot convert {}×{} frames of format {format:?}", f.width, f.height));
        }
        let out = self.out.get();
        // SAFETY: source planes from the decoder, destination the owned RGB24 frame of the
        // context's output size.
        let rows = unsafe {
            ff::sws_scale(
                self.ctx,
                f.data.as_ptr().cast(),
                f.linesize.as_ptr(),
                0,
                f.height,
                out.data.as_ptr(),
                out.linesize.as_ptr(),
            )
        };
        if rows <= 0 {
            return Err("the frame could not be converted".into());
        }
        Ok(())
    }

    /// The last converted frame.
    pub fn output(&self) -> &Frame {
        &self.out
    }
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: frees the context (null is fine).
        unsafe { ff::sws_freeContext(self.ctx) }
    }
}
