//! Talk-off corpora: synthetic speech (espeak-ng) and synthetic music
//! (sox), 8 kHz 16-bit mono, for "never decode speech or music as a
//! signal" tests (DTMF, caller ID, VAD, fax tones…).
//!
//! ```ignore
//! for (label, samples) in support::speech::speech_corpus().iter() { … }
//! for (label, samples) in support::speech::music_corpus().iter() { … }
//! ```
//!
//! - [`speech_corpus`]: original texts in Mandarin, English and Russian,
//!   each read by male, female and high-pitched voices at several speeds:
//!   more than 15 minutes in all ([`SPEECH_MIN_SECONDS`] is checked).
//! - [`music_corpus`]: seeded random chord progressions (plucked, square,
//!   sawtooth and triangle timbres, three or four notes), plucked
//!   melodies, and sweeps with harmonics: about 3 minutes.
//!
//! Both are made once and cached as raw files under
//! `support::cache_dir("speech")`, keyed by a hash of the text and the
//! command, so a changed text or voice is remade; within one test binary
//! they are also kept in memory. espeak-ng and sox are required: a missing
//! one fails the test, naming the Debian package.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{cache_dir, read_raw_s16, require_tool, run};

/// A labelled clip of 8 kHz 16-bit mono audio.
pub type Clip = (String, Vec<i16>);

/// The speech corpus is at least this long.
pub const SPEECH_MIN_SECONDS: f64 = 15.0 * 60.0;

/// Total length of clips in seconds.
pub fn total_seconds(clips: &[Clip]) -> f64 {
    clips.iter().map(|c| c.1.len()).sum::<usize>() as f64 / 8000.0
}

const ENGLISH: &str = "\
The night shift at the exchange begins when the cleaners leave and the hum of the cooling fans becomes the loudest thing in the room. \
Martha checks the alarm panel first: two amber lights on the third rack, one red light that has been red since Tuesday, and a small green lamp \
that nobody has ever seen turn off. She writes the time in the log book, eleven forty two, and underlines it twice. \
Her colleague Oliver arrives with a thermos of tea and a bag of oranges. He believes that oranges keep the mind awake, \
and after nine years of night shifts he has never been proven wrong. \
Around one in the morning the first complaint comes in. A farmer on the northern line says his telephone rings once, then stops, \
then rings again exactly four minutes later, as if somebody were trying to send him a message in a code he does not know. \
Oliver laughs, but Martha pulls the record for the line and finds a relay that chatters whenever the temperature drops below freezing. \
They agree to replace it at dawn. \
At half past two the building goes quiet. Outside, snow falls on the car park and covers the tracks of the delivery van. \
Martha reads a chapter of a novel about sailors who navigate by the colour of the sea, while Oliver peels an orange in one long spiral \
and tells her about his grandmother, who could whistle any tune after hearing it only once, and who taught the whole village to sing in harmony. \
Just before five the phones wake up again. A bakery wants to know why its card machine cannot reach the bank, a hospital asks for a spare circuit, \
and a child, calling by mistake, wants to know whether the moon is awake too. Martha tells him that the moon works the night shift, just like her. \
When the morning team arrives, the relay is replaced, the log book is full, and the kettle is empty. \
Numbers matter in this job: seven hundred lines, twelve hundred circuits, thirty two channels on every trunk, and one green lamp that never goes out.";

const RUSSIAN: &str = "\
Осенью в нашем городе рано темнеет, и к шести часам вечера на улицах уже горят фонари. \
Мой дед работал связистом на маленькой станции у реки, и он любил рассказывать, как в молодости чинил линию во время грозы. \
Провода тогда висели на деревянных столбах, а каждый столб имел свой номер, выжженный на табличке. \
Однажды ветер повалил сразу три столба, и вся деревня осталась без связи на два дня. \
Дед взял лестницу, моток проволоки и термос с горячим чаем, сел на велосипед и поехал вдоль дороги. \
Дождь шёл так сильно, что он не видел собственных рук, но к утру линия снова заработала. \
Первым позвонил председатель колхоза и спросил, почему никто не отвечает на его письма. \
Бабушка до сих пор вспоминает, как дед вернулся домой мокрый до нитки, но очень довольный, и сразу попросил блинов со сметаной. \
Теперь на той станции стоят современные шкафы с мигающими лампочками, и никто не лазит по столбам. \
Но старики в деревне по привычке говорят, что телефон работает хорошо только тогда, когда на линии тихо и не шумит ветер. \
Я записал несколько его историй в тетрадь: про зимнюю ночь, когда волки подошли к самой станции, \
про девушку, которая звонила каждый вечер ровно в девять, и про старый коммутатор, который жужжал, как пчелиный улей. \
В тетради сорок восемь страниц, и почти все они уже исписаны мелким почерком. \
Если когда-нибудь у меня будут внуки, я прочитаю им эти рассказы вслух, медленно, с паузами, чтобы они успели представить себе реку, \
дождь, деревянные столбы и человека на велосипеде, который едет сквозь грозу, чтобы люди снова могли услышать друг друга.";

const MANDARIN: &str = "\
每天早上七点，我们的客服中心就开始接电话了。第一个打来的常常是一位老太太，她想知道明天会不会下雨。\
我们告诉她，天气预报说上午多云，下午可能有小雨，最好带一把伞。她总是说谢谢，然后问我们吃早饭了没有。\
八点以后，电话越来越多。有人要查询账单，有人要修改地址，还有人说自己的网络突然断了，孩子没办法上网课。\
小王负责技术问题，他说话很慢，很有耐心，一步一步地教客户重新启动路由器。\
小李负责投诉，她的声音很温柔，再生气的客户听她说几句话，也会慢慢平静下来。\
中午我们轮流吃饭。食堂的饺子很好吃，有白菜猪肉的，也有韭菜鸡蛋的。\
下午三点左右，是一天里最忙的时候。屏幕上排队的电话有二十多个，每个人都在说话，整个大厅像一个热闹的市场。\
有一次，一位先生打电话来，说他家的猫把电话线咬断了，问我们能不能派人来修。\
我们忍住笑，帮他约了第二天上午十点的维修时间。后来他又打来电话，说猫已经学会了按电话上的按键，每天半夜给我们打电话。\
晚上六点，天色暗了下来，电话也渐渐少了。我们整理当天的记录，写下遇到的问题和解决的办法。\
经理说，这个月我们一共接了一万两千多个电话，客户满意度比上个月提高了百分之五。\
下班的路上，街边的小店飘来烤红薯的香味。我买了一个，边走边吃，心里想着明天又会有什么样的故事。\
城市的灯一盏一盏亮起来，公共汽车上的人们有的在看手机，有的在打瞌睡，有的在轻轻地哼着歌。\
我想，每一个电话后面，都有一个普通的家庭和一段普通的生活，而我们的工作，就是让这些声音能够顺利地相遇。";

/// (language, espeak-ng voice, text).
const TEXTS: [(&str, &str, &str); 3] =
    [("en", "en", ENGLISH), ("ru", "ru", RUSSIAN), ("cmn", "cmn-latn-pinyin", MANDARIN)];

/// (variant label, espeak-ng variant, pitch 0–99, words per minute).
const READERS: [(&str, &str, u32, u32); 5] = [
    ("male", "+m3", 40, 160),
    ("male-fast", "+m1", 50, 200),
    ("female", "+f2", 60, 165),
    ("female-2", "+f4", 55, 150),
    ("high", "+f5", 90, 175),
];

fn key(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Run `make(tmp)` to produce a raw file unless `path` exists; atomic.
fn cached(path: &Path, make: impl FnOnce(&Path)) -> Vec<i16> {
    if !path.is_file() {
        let tmp = path.with_extension(format!("tmp{}-{:?}", std::process::id(), std::thread::current().id()));
        make(&tmp);
        std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("move {} into place: {e}", tmp.display()));
    }
    read_raw_s16(path)
}

fn render_speech(dir: &Path, lang: &str, voice: &str, text: &str, reader: (&str, &str, u32, u32)) -> Clip {
    let (label, variant, pitch, wpm) = reader;
    let voice = format!("{voice}{variant}");
    let (pitch, wpm) = (pitch.to_string(), wpm.to_string());
    let k = key(&[&voice, &pitch, &wpm, text]);
    let path: PathBuf = dir.join(format!("{lang}-{label}-{k:016x}.raw"));
    let samples = cached(&path, |tmp| {
        let espeak = require_tool("espeak-ng", "espeak-ng");
        let sox = require_tool("sox", "sox");
        let wav = tmp.with_extension("wav");
        run(Command::new(espeak).args(["-v", &voice, "-s", &wpm, "-p", &pitch, "-w"]).arg(&wav).arg(text));
        run(Command::new(sox)
            .arg("-q")
            .arg(&wav)
            .args(["-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw"])
            .arg(tmp));
        let _ = std::fs::remove_file(&wav);
    });
    assert!(samples.len() > 8000 * 20, "espeak-ng made only {} samples for {voice}", samples.len());
    (format!("speech {lang} {label} ({voice} -p {pitch} -s {wpm})"), samples)
}

/// The speech corpus (see the module doc), made on first use.
pub fn speech_corpus() -> &'static [Clip] {
    static CORPUS: OnceLock<Vec<Clip>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = cache_dir("speech");
        let jobs: Vec<_> = TEXTS
            .iter()
            .flat_map(|&(lang, voice, text)| READERS.iter().map(move |&r| (lang, voice, text, r)))
            .collect();
        // Two at a time: the machines are shared.
        let mut clips = Vec::new();
        for pair in jobs.chunks(2) {
            let made: Vec<Clip> = std::thread::scope(|s| {
                let handles: Vec<_> = pair
                    .iter()
                    .map(|&(lang, voice, text, r)| {
                        let dir = dir.clone();
                        s.spawn(move || render_speech(&dir, lang, voice, text, r))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            });
            clips.extend(made);
        }
        let secs = total_seconds(&clips);
        assert!(secs >= SPEECH_MIN_SECONDS, "speech corpus is only {secs:.0} s");
        clips
    })
}

/// A tiny seeded generator for the music (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

/// sox effect words for one piece of music (seconds are rough).
fn music_score(kind: &str, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut words: Vec<String> = Vec::new();
    let chain = |w: &mut Vec<String>, piece: Vec<String>| {
        if !w.is_empty() {
            w.push(":".into());
        }
        w.extend(piece);
    };
    // Semitones from A440 of a C major / A minor scale over three octaves.
    let scale: Vec<i32> = (-3..3).flat_map(|o| [0, 2, 3, 5, 7, 8, 10].map(|s| s + 12 * o)).collect();
    let timbres = ["pluck", "square", "sawtooth", "triangle"];
    match kind {
        "chords" => {
            // Triads and sevenths built on scale degrees, 0.3–1 s each.
            for _ in 0..40 {
                let root = *rng.pick(&scale[3..scale.len() - 8]);
                const QUALITIES: [&[i32]; 5] = [&[0, 4, 7], &[0, 3, 7], &[0, 4, 7, 11], &[0, 3, 7, 10], &[0, 4, 7, 12]];
                let quality: &[i32] = QUALITIES[(rng.next() % QUALITIES.len() as u64) as usize];
                let timbre = *rng.pick(&timbres);
                let len = [0.3, 0.5, 0.8, 1.0][(rng.next() % 4) as usize];
                let mut piece = vec!["synth".to_string(), format!("{len}")];
                for q in quality {
                    piece.push(timbre.into());
                    piece.push(format!("%{}", root + q));
                }
                piece.extend(["channels".into(), "1".into(), "vol".into(), "-12dB".into()]);
                chain(&mut words, piece);
            }
        }
        "melody" => {
            // A plucked or triangle melody over a sustained bass fifth.
            for _ in 0..120 {
                let note = *rng.pick(&scale[7..]);
                let bass = *rng.pick(&scale[..7]) - 12;
                let timbre = *rng.pick(&["pluck", "pluck", "triangle", "sawtooth"]);
                let len = [0.12, 0.25, 0.25, 0.5][(rng.next() % 4) as usize];
                chain(
                    &mut words,
                    vec![
                        "synth".into(),
                        format!("{len}"),
                        timbre.into(),
                        format!("%{note}"),
                        "pluck".into(),
                        format!("%{bass}"),
                        "pluck".into(),
                        format!("%{}", bass + 7),
                        "channels".into(),
                        "1".into(),
                        "vol".into(),
                        "-10dB".into(),
                    ],
                );
            }
        }
        _ => {
            // Sweeps of tones rich in harmonics, up and down, slow and fast.
            for i in 0..12 {
                let timbre = timbres[1 + i % 3];
                let (a, b) = if i % 2 == 0 { (200, 3400) } else { (3000, 250) };
                let len = [2.0, 5.0, 8.0][i % 3];
                chain(
                    &mut words,
                    vec![
                        "synth".into(),
                        format!("{len}"),
                        timbre.into(),
                        format!("{a}:{b}"),
                        "vol".into(),
                        "-10dB".into(),
                    ],
                );
            }
        }
    }
    words
}

/// The music corpus (see the module doc), made on first use.
pub fn music_corpus() -> &'static [Clip] {
    static CORPUS: OnceLock<Vec<Clip>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = cache_dir("speech");
        let mut clips = Vec::new();
        for (kind, seeds) in [("chords", 1..4u64), ("melody", 1..3), ("sweeps", 1..2)] {
            for seed in seeds {
                let score = music_score(kind, seed);
                let k = key(&score.iter().map(String::as_str).collect::<Vec<_>>());
                let path = dir.join(format!("music-{kind}-{seed}-{k:016x}.raw"));
                let samples = cached(&path, |tmp| {
                    let sox = require_tool("sox", "sox");
                    run(Command::new(sox)
                        .args(["-q", "-n", "-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw"])
                        .arg(tmp)
                        .args(&score));
                });
                assert!(samples.len() > 8000 * 10, "sox made only {} samples of {kind}", samples.len());
                clips.push((format!("music {kind} #{seed}"), samples));
            }
        }
        clips
    })
}
