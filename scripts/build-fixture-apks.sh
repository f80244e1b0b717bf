#!/bin/sh
# Builds the fixture APKs under fixtures/apks/: real, signed apps for the emulated phone and the
# APK parser tests, so the tests need no Android build tools. Needs aapt, zipalign, apksigner,
# keytool and android-framework-res (Debian packages). Keys are made fresh on every run, so the
# certificate digests change: the matching `apksigner verify --print-certs` output is written
# next to each APK as <apk>.certs.txt.
#
#   notes.apk             com.example.notes 3 "1.2.0", READ_CONTACTS + CAMERA (runtime) + INTERNET, key A
#   notes-v4.apk          the same app, versionCode 4 "1.3.0", key A
#   notes-other-key.apk   versionCode 3 again, signed with key B (signer mismatch)
#   notes-v1-only.apk     versionCode 3, key A, JAR signature only (no APK Signing Block)
#   gallery-base.apk      com.example.gallery 7 "2.0", base of a split set (isSplitRequired), CAMERA + READ_EXTERNAL_STORAGE
#   gallery-config.xxhdpi.apk  its config split "config.xxhdpi", APK Signature Scheme v2 only
#   launcher.apk          com.example.launcher 1 "1.0", a HOME activity (the emulated phone's system
#                         image puts it in /system/app/Launcher/Launcher.apk), ACCESS_FINE_LOCATION + INTERNET, key A
#   launcher-v2.apk       its update, versionCode 2 "2.0", key A
#   sync.apk              com.example.sync 5 "5.0", android:sharedUserId="com.example.shared", INTERNET + CAMERA
#                         + READ_CONTACTS, key A
#   sync-plugin.apk       com.example.sync.plugin 1 "1.0", the same sharedUserId, ACCESS_FINE_LOCATION + INTERNET, key A
#   sync-plugin-other-key.apk  the plugin signed with key B (refused: the shared user is signed with key A)
set -eu

out=$(cd "$(dirname "$0")/.." && pwd)/fixtures/apks
framework=/usr/share/android-framework-res/framework-res.apk
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

key() { # name CN
  keytool -genkeypair -keystore "$work/$1.jks" -alias "$1" -keyalg RSA -keysize 2048 -validity 10000 \
    -dname "CN=$2, O=cloudphone-backup fixtures" -storepass android -keypass android >/dev/null 2>&1
}

# app name package versionCode versionName split(or -) required-split(true/false) permissions…
app() {
  dir=$work/$1
  mkdir -p "$dir/res/values"
  pkg=$2 code=$3 name=$4 split=$5 required=$6
  shift 6
  perms=
  for p in "$@"; do perms="$perms    <uses-permission android:name=\"$p\"/>
"; done
  splitattr=
  [ "$split" = - ] || splitattr=" split=\"$split\""
  # SHARED_UID=<id> adds android:sharedUserId; HOME=1 adds an activity answering the HOME intent
  [ -z "${SHARED_UID:-}" ] || splitattr="$splitattr
    android:sharedUserId=\"$SHARED_UID\""
  home=
  [ -z "${HOME_ACTIVITY:-}" ] || home='
        <activity android:name=".Home" android:exported="true">
            <intent-filter>
                <action android:name="android.intent.action.MAIN"/>
                <category android:name="android.intent.category.HOME"/>
                <category android:name="android.intent.category.DEFAULT"/>
            </intent-filter>
        </activity>
    '
  app_close='/>'
  [ -z "$home" ] || app_close=">$home</application>"
  cat >"$dir/AndroidManifest.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="$pkg"$splitattr
    android:versionCode="$code"
    android:versionName="$name"
    android:isSplitRequired="$required">
    <uses-sdk android:minSdkVersion="24" android:targetSdkVersion="29"/>
$perms    <application android:label="@string/app_name" android:hasCode="false" android:allowBackup="true"$app_close
</manifest>
XML
  echo "<resources><string name=\"app_name\">$pkg</string></resources>" >"$dir/res/values/strings.xml"
  if [ "$split" != - ]; then
    # a config split holds only resources for its configuration
    mkdir -p "$dir/res/values-xxhdpi"
    echo '<resources><dimen name="thumb">96dp</dimen></resources>' >"$dir/res/values-xxhdpi/dimens.xml"
  fi
  aapt package -f -M "$dir/AndroidManifest.xml" -S "$dir/res" -I "$framework" -F "$dir/unsigned.apk"
  zipalign -f 4 "$dir/unsigned.apk" "$dir/aligned.apk"
}

sign() { # app key out [apksigner options…]
  src=$work/$1/aligned.apk k=$2 dest=$out/$3
  shift 3
  apksigner sign --ks "$work/$k.jks" --ks-pass pass:android --ks-key-alias "$k" "$@" --out "$dest" "$src"
  rm -f "$dest.idsig"
  apksigner verify --print-certs "$dest" | grep -v '^WARNING' >"$dest.certs.txt"
}

key keya 'Example Apps'
key keyb 'Somebody Else'
app notes com.example.notes 3 1.2.0 - false \
  android.permission.READ_CONTACTS android.permission.CAMERA android.permission.INTERNET
app notes4 com.example.notes 4 1.3.0 - false \
  android.permission.READ_CONTACTS android.permission.CAMERA android.permission.INTERNET
app gallery com.example.gallery 7 2.0 - true \
  android.permission.CAMERA android.permission.READ_EXTERNAL_STORAGE android.permission.INTERNET
app gallery-xxhdpi com.example.gallery 7 2.0 config.xxhdpi false
HOME_ACTIVITY=1 app launcher com.example.launcher 1 1.0 - false android.permission.ACCESS_FINE_LOCATION android.permission.INTERNET
HOME_ACTIVITY=1 app launcher2 com.example.launcher 2 2.0 - false android.permission.ACCESS_FINE_LOCATION android.permission.INTERNET
SHARED_UID=com.example.shared app sync com.example.sync 5 5.0 - false \
  android.permission.INTERNET android.permission.CAMERA android.permission.READ_CONTACTS
SHARED_UID=com.example.shared app plugin com.example.sync.plugin 1 1.0 - false android.permission.ACCESS_FINE_LOCATION

mkdir -p "$out"
sign notes keya notes.apk
sign notes4 keya notes-v4.apk
sign notes keyb notes-other-key.apk
sign notes keya notes-v1-only.apk --v2-signing-enabled false --v3-signing-enabled false
sign gallery keya gallery-base.apk
sign gallery-xxhdpi keya gallery-config.xxhdpi.apk --v3-signing-enabled false
sign launcher keya launcher.apk
sign launcher2 keya launcher-v2.apk
sign sync keya sync.apk
sign plugin keya sync-plugin.apk
sign plugin keyb sync-plugin-other-key.apk
ls -l "$out"
